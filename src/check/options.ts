// check's options, one row each: the command's registration, the options a --file line may give and the "given once"
// rule are all read from this table.
import { UsageError } from "../errors.ts";

/** DEFAULTS are the defaults of check's options, stated here once: the rows, the help and the parsers read them. */
export const DEFAULTS = {
  timeout: "2s",
  retries: "0",
  concurrency: "100",
  /** status: any 2xx passes, as `curl -f` without -L would have it succeed on no 3xx. */
  status: "200-299",
  method: "GET",
  bodyMethod: "POST",
} as const;

/** CheckOption is one of check's options. */
export interface CheckOption {
  /** flags is the option as cac declares it: the flag, and for a value its placeholder (`--timeout <duration>`). */
  readonly flags: string;
  readonly help: string;
  /** default is the value when it is not given. */
  readonly default?: string;
  /**
   * helpSaysDefault: cac leaves the option unset and its help states the default, for the command must see whether it
   * was typed (--status under --nagios) or the default depends on another option (--method on --send).
   */
  readonly helpSaysDefault?: true;
  /** perTarget: a --file line, or a quoted argument, may give it for its own targets. */
  readonly perTarget?: true;
  /** repeats: each one given adds one more (--header); every other option is given once. */
  readonly repeats?: true;
  /** for: the targets it means something for; on the command line with none of them it is a mistake. */
  readonly for?: "tls" | "http" | "service";
}

/** CHECK_OPTIONS are check's options in the order --help lists them. */
export const CHECK_OPTIONS: readonly CheckOption[] = [
  {
    flags: "--file <file>",
    help:
      "Read more targets from FILE (- for stdin): a line is TARGET... [its own --send --expect --match --tls ...], " +
      "# comments",
  },
  { flags: "--udp", help: "Check host:port targets over UDP (as udp://host:port)", perTarget: true },
  {
    flags: "--timeout <duration>",
    help: "Wait this long for each handshake, UDP reply, expected reply or whole HTTP exchange",
    default: DEFAULTS.timeout,
    perTarget: true,
  },
  {
    flags: "--send <string>",
    help:
      "Send this probe after connecting, the UDP datagram, or the HTTP request body " +
      "(escapes: \\r \\n \\t \\0 \\xHH)",
    perTarget: true,
  },
  {
    flags: "--expect <string>",
    help: "Pass only if the reply (HTTP: the body) contains this text (same escapes; 0220 is not 220)",
    perTarget: true,
  },
  {
    flags: "--expect-prefix <string>",
    help:
      "Pass only if the reply (HTTP: the body) starts with this text; a reply that already differs fails at once, " +
      "without waiting for --timeout (same escapes)",
    perTarget: true,
  },
  {
    flags: "--match <regex>",
    help: "Pass only if the reply (HTTP: the body) matches this regular expression; ^ and $ anchor each line",
    perTarget: true,
  },
  {
    flags: "--protocol <name>",
    help: "Speak this protocol's client and check its answer (see `upcat protocols`)",
    perTarget: true,
  },
  {
    flags: "--tls",
    help: "Pass only on a completed TLS handshake with a certificate; report its subject and expiry",
    perTarget: true,
  },
  {
    flags: "--ca <file>",
    help: "Trust the CA certificates in this PEM file, not the system's (with --tls or https://)",
    perTarget: true,
    for: "tls",
  },
  {
    flags: "--insecure",
    help: "Pass a TLS certificate that does not verify (with --tls or https://)",
    perTarget: true,
    for: "tls",
  },
  {
    flags: "--cert-days <warn[,crit]>",
    help: "Fail when the certificate has at most WARN days left (check_tcp -D; --nagios: CRITICAL at CRIT)",
    perTarget: true,
    for: "tls",
  },
  {
    flags: "--status <codes>",
    help: `HTTP: the statuses that pass, codes and ranges (default ${DEFAULTS.status}; e.g. 200,204,300-399)`,
    default: DEFAULTS.status,
    helpSaysDefault: true,
    perTarget: true,
    for: "http",
  },
  {
    flags: "--header <header>",
    help: "HTTP: send this request header, 'Name: value' (repeat for more)",
    perTarget: true,
    repeats: true,
    for: "http",
  },
  {
    flags: "--method <method>",
    help: `HTTP: the request method (default ${DEFAULTS.method}, or ${DEFAULTS.bodyMethod} with --send)`,
    default: DEFAULTS.method,
    helpSaysDefault: true,
    perTarget: true,
    for: "http",
  },
  {
    flags: "--follow",
    help:
      "HTTP: follow redirects (at most 10, inside --timeout); without it a 3xx is the answer. Authorization, Cookie " +
      "and URL credentials go only to the target's own scheme, host and port",
    perTarget: true,
    for: "http",
  },
  {
    flags: "--allow-downgrade",
    help: "HTTP: let --follow take an https:// target to http:// (else that fails the check)",
    perTarget: true,
    for: "http",
  },
  {
    flags: "--password-file <file>",
    help:
      "Service URLs: the password is this file's first line, where the URL gives none (else PGPASSWORD, MYSQL_PWD " +
      "or REDISCLI_AUTH); never printed",
    perTarget: true,
    for: "service",
  },
  {
    flags: "--retries <n>",
    help: "Try a failing target this many more times, backing off from 100ms",
    default: DEFAULTS.retries,
  },
  {
    flags: "--wait <duration>",
    help: "Keep trying until every target passes or this much time has gone (wait-for-it; exit 124 if it runs out)",
  },
  {
    flags: "--down",
    help: "Pass when a target is closed or unreachable instead of open: wait for a drain or a shutdown",
  },
  { flags: "--concurrency <n>", help: "At most this many tries at once", default: DEFAULTS.concurrency },
  { flags: "--udp-silent-ok", help: "Pass a UDP target that sends nothing back (open or filtered)", perTarget: true },
  {
    flags: "--json",
    help:
      "One JSON object per target: target, proto, host, address, port, state, latency_ms, reply, error " +
      "(see --schema)",
  },
  { flags: "--schema", help: "Print the JSON Schema (draft 2020-12) of one --json line, and exit" },
  { flags: "--quiet", help: "Print nothing; the exit status says it all" },
  {
    flags: "--nagios",
    help: "Monitoring-plugin output and exit status (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)",
  },
  { flags: "--prometheus", help: "Print the results as Prometheus gauges, for node_exporter's textfile collector" },
  {
    flags: "--warning <seconds>",
    help: "With --nagios: WARNING when a target takes longer than this (0.5, 0.000001, 500ms)",
    perTarget: true,
  },
  {
    flags: "--critical <seconds>",
    help: "With --nagios: CRITICAL when a target takes longer than this",
    perTarget: true,
  },
];

/** nameOf is an option's long name as typed, without its dashes: `cert-days`. */
export function nameOf(option: CheckOption): string {
  return /^--([a-z-]+)/.exec(option.flags)![1]!;
}

/** keyOf is an option's key in cac's parsed options, and in a check line's: `certDays`. */
export function keyOf(option: CheckOption): string {
  return nameOf(option).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** takesValue says whether an option is followed by a value, or is a flag. */
export function takesValue(option: CheckOption): boolean {
  return option.flags.includes("<");
}

/** cacDefault is the default cac fills in (and --help states), where the help text does not state it itself. */
export function cacDefault(option: CheckOption): { default: string } | undefined {
  return option.default === undefined || option.helpSaysDefault ? undefined : { default: option.default };
}

const BY_KEY = new Map(CHECK_OPTIONS.map((o) => [keyOf(o), o]));

/** optionNamed finds an option by its long name as typed (`cert-days`), or undefined. */
export function optionNamed(name: string): CheckOption | undefined {
  const option = BY_KEY.get(name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()));
  return option && nameOf(option) === name ? option : undefined;
}

/**
 * refuseRepeat is the "given once" rule, wherever an option comes a second time: unless its row says it repeats, that
 * is a mistake. The words follow the place: a command line is read whole, a check line word by word.
 */
export function refuseRepeat(key: string, where: "command" | "line"): void {
  if (BY_KEY.get(key)?.repeats) return;
  const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  throw new UsageError(where === "command" ? `${flag} can be given once` : `${flag} is given twice`);
}

/** once reads an option of the command line that is given once (cac makes an array of repeats). */
export function once(raw: Record<string, unknown>, key: string): unknown {
  const value = raw[key];
  if (Array.isArray(value)) refuseRepeat(key, "command");
  return value;
}
