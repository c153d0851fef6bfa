// The exporter's modules: a name for a set of check's own per-target options, built in or read from --config.
//
//   redis_ping: --send 'PING\r\n' --expect +PONG
//   smtp_banner: --expect-prefix 220 --timeout 5s
import { parseCheckLine } from "../check/check-line.ts";
import { CHECK_OPTIONS, keyOf } from "../check/options.ts";
import { UsageError } from "../errors.ts";
import { quote } from "../text/shown.ts";

/** Module is what a probe's `module=` names: check's per-target options, in cac's camelCase keys. */
export interface Module {
  readonly name: string;
  readonly options: Readonly<Record<string, string | true | string[]>>;
  /** text is the module as written, for debug=true's "Module configuration". */
  readonly text: string;
  /** scheme: a host:port target is read as this scheme's URL (http_2xx reads `web:80` as `http://web:80`). */
  readonly scheme?: "http";
  /** line is where --config gives it. */
  readonly line?: number;
}

/**
 * BUILT_IN are the modules every exporter has, under Blackbox's names where one fits. http_2xx does not follow
 * redirects, unlike Blackbox's: a redirect is where a probe would leave the hosts --allow-target admits.
 */
export const BUILT_IN: readonly Module[] = [
  { name: "tcp", options: {}, text: "(a TCP handshake, as nc -z)" },
  { name: "tcp_connect", options: {}, text: "(Blackbox's name for tcp)" },
  { name: "udp", options: { udp: true }, text: "--udp" },
  { name: "tls", options: { tls: true }, text: "--tls" },
  { name: "tls_connect", options: { tls: true }, text: "--tls (Blackbox's name for tls)" },
  {
    name: "http_2xx",
    options: {},
    text: "(GET, any 2xx passes; host:port is read as http://host:port)",
    scheme: "http",
  },
];

/**
 * SECRET_VALUES are the options whose values may carry a credential (an Authorization header, a redis AUTH in --send):
 * debug=true, which anyone who reaches the exporter may ask for, shows that they are there, not what they are.
 */
const SECRET_VALUES = new Set(["header", "send"]);

/** shownModule is a module as debug=true shows it: its options, with SECRET_VALUES hidden. */
export function shownModule(module: Module): string {
  const entries = Object.entries(module.options);
  if (entries.length === 0) return `${module.name}: ${module.text}`;
  const words = entries.flatMap(([key, value]) => {
    const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    if (value === true) return [flag];
    return [value].flat().map((v) => {
      if (!SECRET_VALUES.has(key)) return `${flag} ${JSON.stringify(v)}`;
      // A header's name says what it is for; its value is the secret.
      return key === "header" ? `${flag} ${JSON.stringify(`${v.split(":")[0]}: ***`)}` : `${flag} ***`;
    });
  });
  return `${module.name}: ${words.join(" ")}`;
}

/** MAX_MODULES bounds a --config file: a page of modules, not a database of them. */
export const MAX_MODULES = 1000;

/** NAME is a module's name: what Blackbox's names look like, and nothing a query string must escape. */
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

/**
 * parseModules reads a --config file: `name: --option value...` a line, # comments and blank lines skipped. A line
 * that does not read throws a UsageError naming its line; a name given twice, or a built-in's, is a mistake.
 */
export function parseModules(text: string, file: string): Map<string, Module> {
  const modules = new Map(BUILT_IN.map((m) => [m.name, m]));
  const builtIn = new Set(modules.keys());
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, "");
    const where = `${file}:${i + 1}`;
    if (/^\s*(#|$)/.test(line)) continue;
    const colon = line.indexOf(":");
    const name = colon < 0 ? "" : line.slice(0, colon).trim();
    if (!NAME.test(name))
      throw new UsageError(`${where}: a line is NAME: --option value... (as redis_ping: --send 'PING\\r\\n')`);
    if (builtIn.has(name)) throw new UsageError(`${where}: ${name} is a built-in module; give yours another name`);
    if (modules.has(name)) throw new UsageError(`${where}: module ${name} is given twice`);
    if (modules.size - builtIn.size >= MAX_MODULES) throw new UsageError(`${where}: more than ${MAX_MODULES} modules`);
    const rest = line.slice(colon + 1).trim();
    const options = moduleOptions(rest, where);
    if (options.follow !== undefined)
      throw new UsageError(
        `${where}: --follow would let a redirect take the probe where --allow-target does not admit`,
      );
    modules.set(name, { name, options, text: rest, line: i + 1 });
  }
  return modules;
}

/** moduleOptions reads a module's options with check's own line reader: a line and a module accept the same. */
function moduleOptions(text: string, where: string): Module["options"] {
  if (text !== "" && !text.startsWith("--"))
    throw new UsageError(`${where}: a module gives options only; the target comes from each probe (${quote(text)})`);
  try {
    // check-line reads TARGET... then options: a stand-in target, so the options are read as a line's.
    return parseCheckLine(`target ${text}`)!.options;
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(`${where}: ${err.message}`);
    throw err;
  }
}

/** OPTION_FOR says which targets an option is for (TLS, HTTP, a service URL), by its key. */
const OPTION_FOR = new Map(CHECK_OPTIONS.filter((o) => o.for).map((o) => [keyOf(o), o.for!]));

/**
 * sampleTarget is a target of the kind a module is for, to plan it against when --config is read: a value no parser
 * takes (`--timeout soon`, a --ca file missing) is then found at start-up, not at the first scrape. Nothing is sent.
 */
export function sampleTarget(module: Module): string {
  const kinds = new Set(Object.keys(module.options).map((key) => OPTION_FOR.get(key)));
  if (kinds.has("service")) return "postgres://127.0.0.1:1/";
  if (module.scheme === "http" || kinds.has("http"))
    return kinds.has("tls") && !module.options.tls ? "https://127.0.0.1:1/" : "http://127.0.0.1:1/";
  if (kinds.has("tls") && !module.options.tls) return "https://127.0.0.1:1/";
  return "127.0.0.1:1";
}
