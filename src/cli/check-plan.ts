// Reads a whole `upcat check` command line (and --file) into a plan, checking every option before any socket opens.
import { readEscapes } from "../text/escapes.ts";
import type { HttpRequestOptions } from "../check/http-probe.ts";
import { MAX_REPLY, type ProbeOptions } from "../check/probe.ts";
import type { CheckTarget } from "../check/result.ts";
import type { RunOptions } from "../check/run.ts";
import { parseCheckLine, type CheckLine } from "../check/check-line.ts";
import { matcher } from "../check/match.ts";
import { CHECK_OPTIONS, DEFAULTS, keyOf, nameOf, once } from "../check/options.ts";
import { expandSpec, MAX_TARGETS } from "../check/spec.ts";
import { UsageError } from "../errors.ts";
import { MAX_DATAGRAM } from "../transport/transport.ts";
import { parseHeaders, parseMethod, parseStatusSet } from "./check-http-options.ts";
import { parseCertDays, parseCount, parseDuration, parseThreshold } from "./option-values.ts";
import type { Io } from "./io.ts";
import { cannotRead, type InputLine, MAX_CA_FILE, MAX_CA_FILES, readLines, readSmallFile } from "./read-input.ts";
import { quote } from "../text/shown.ts";
import { shownMessage } from "../text/message.ts";
import type { Place } from "../check/report/json.ts";
import { parseServiceUrl, type ServiceEndpoint, SERVICES, serviceOf } from "../check/services/endpoint.ts";

export type Output = "text" | "json" | "quiet" | "nagios" | "prometheus";

/** TargetPlan is one target with everything asked of it: by the command line, or by its own line. */
export interface TargetPlan {
  target: CheckTarget;
  /** place is where the target stands in the run: its index, and its --file line. */
  place: Place;
  probe: ProbeOptions;
  udpSilentOk: boolean;
  thresholds: { warningMs?: number; criticalMs?: number; statusGiven?: boolean };
}

export interface CheckPlan {
  items: TargetPlan[];
  run: Pick<RunOptions, "retries" | "waitMs" | "concurrency" | "timeoutMs" | "udpSilentOk" | "down">;
  output: Output;
  /** command is what follows `--`: run it once every target passes. */
  command?: string[];
}

/** FOR_TLS and FOR_HTTP are the options that mean something only for TLS, or only for HTTP(S) targets: key and flag. */
const forTargets = (kind: "tls" | "http" | "service") =>
  CHECK_OPTIONS.filter((o) => o.for === kind).map((o) => [keyOf(o), `--${nameOf(o)}`] as const);
const FOR_TLS = forTargets("tls");
const FOR_HTTP = forTargets("http");
const FOR_SERVICE = forTargets("service");
const isHttps = (spec: string) => /^https:\/\//i.test(spec.trim());
const isHttp = (spec: string) => /^https?:\/\//i.test(spec.trim());
/** MAX_PASSWORD_FILE bounds --password-file: a password, not a file of them. */
const MAX_PASSWORD_FILE = 64 * 1024;

/** TooManyTargets ends the reading, wherever it is found: no line is at fault alone. */
class TooManyTargets extends UsageError {}

/** at puts where a line came from (FILE:LINE, or the argument) in front of what is wrong with it. */
async function at<T>(where: string | undefined, read: () => T | Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (where && err instanceof UsageError) throw new UsageError(`${where}: ${err.message}`);
    throw err;
  }
}

/** PlannedLine is one check line, where it came from, and (for --file) its file and line number. */
interface PlannedLine {
  line: CheckLine;
  where?: string;
  /** order counts the lines of the arguments and --file together: problems are told in it. */
  order: number;
  file?: { path: string; number: number };
}

/** MAX_PROBLEMS is how many bad lines one run names, as a compiler stops naming errors after a screenful. */
export const MAX_PROBLEMS = 20;

/**
 * Problems gathers what is wrong with each line, so that all of them are told at once, as a compiler tells them:
 * each as `FILE:LINE: what is wrong`, in line order; the first MAX_PROBLEMS of them, and how many more.
 */
class Problems {
  /** kept are the first MAX_PROBLEMS by line, of all those found (a file of 100000 bad lines keeps 20). */
  private kept: { order: number; message: string }[] = [];
  private total = 0;

  constructor(private readonly io: Io) {}

  /** add keeps a line's UsageError; anything else is no fault of the line, and goes on. */
  add(order: number, err: unknown): void {
    if (!(err instanceof UsageError)) throw err;
    this.total++;
    this.kept.push({ order, message: err.message });
    if (this.kept.length > 2 * MAX_PROBLEMS) this.trim();
  }

  private trim(): void {
    this.kept = this.kept.sort((a, b) => a.order - b.order).slice(0, MAX_PROBLEMS);
  }

  /**
   * tell throws what was found, with `last` (what ended the reading) after it: each line's problem on stderr here, and
   * the last as the UsageError that ends the command (exit 2, or UNKNOWN under --nagios); past MAX_PROBLEMS, a count
   * of those not shown. With nothing found and no `last`, it returns.
   */
  tell(last?: unknown): void {
    if (last !== undefined && !(last instanceof UsageError)) throw last;
    if (this.total === 0) {
      if (last) throw last;
      return;
    }
    this.trim();
    const messages = this.kept.map((p) => p.message);
    const hidden = this.total - messages.length;
    const more = `${hidden} more: ${this.total} check lines are wrong`;
    let end: UsageError;
    if (last) end = last;
    else if (hidden > 0) end = new UsageError(`and ${more}, nothing was checked`);
    else end = new UsageError(messages.pop()!);
    if (last && hidden > 0) messages.push(`and ${more}`);
    for (const message of messages) this.io.err(`${this.io.errColor.red("upcat:")} ${shownMessage(message)}`);
    throw end;
  }
}

/**
 * linesOf reads the check lines of the arguments and --file: a word with blanks in it is a line with its own options.
 * --file is streamed, and read no further than a check can take: every target word is one target at least. A line
 * that does not read is kept in problems, and the reading goes on; what ends it is thrown.
 */
async function linesOf(specs: string[], file: unknown, io: Io, problems: Problems): Promise<PlannedLine[]> {
  const lines: PlannedLine[] = [];
  let targets = 0;
  let order = 0;
  const add = (planned: PlannedLine) => {
    targets += planned.line.specs.length;
    if (targets > MAX_TARGETS) {
      const where = planned.where ? `${planned.where}: ` : "";
      throw new TooManyTargets(
        `${where}more than ${MAX_TARGETS} targets in one check; split the ranges over several runs`,
      );
    }
    lines.push(planned);
  };
  for (const spec of specs) {
    order++;
    if (!/\s/.test(spec.trim())) {
      add({ line: { specs: [spec], options: {} }, order });
      continue;
    }
    const where = `in argument ${quote(spec)}`;
    try {
      const line = await at(where, () => parseCheckLine(spec));
      if (line) add({ line, where, order });
    } catch (err) {
      if (err instanceof TooManyTargets) throw err;
      problems.add(order, err);
    }
  }
  if (file !== undefined) {
    const path = String(file);
    for await (const { where, text, utf8, number } of readSpecs(path, io)) {
      order++;
      try {
        const line = await at(where, () => parseCheckLine(text));
        if (!line) continue;
        // A target is typed exactly: a word with bytes that are not UTF-8 would reach the wire as U+FFFD. Such bytes
        // in a comment are harmless.
        const bad = utf8 ? undefined : wordsOf(line).find((word) => word.includes("\ufffd"));
        if (bad !== undefined)
          throw new UsageError(`${where}: ${quote(bad, 60)} is not valid UTF-8; --file is read as UTF-8`);
        add({ line, where, order, file: { path, number } });
      } catch (err) {
        if (err instanceof TooManyTargets) throw err;
        problems.add(order, err);
      }
    }
  }
  return lines;
}

/** wordsOf lists a line's targets and option values. */
function wordsOf(line: CheckLine): string[] {
  return [...line.specs, ...Object.values(line.options).flatMap((v) => (v === true ? [] : v))];
}

/** plan checks the whole command line, and reads --file, before any socket opens. */
export async function plan(specs: string[], raw: Record<string, unknown>, io: Io): Promise<CheckPlan> {
  const outputs = (["json", "quiet", "nagios", "prometheus"] as const).filter((o) => raw[o]);
  if (outputs.length > 1) throw new UsageError(`--${outputs[0]} and --${outputs[1]} cannot be used together`);
  const output: Output = outputs[0] ?? "text";
  const command = commandOf(raw["--"]);
  if (command && (output === "nagios" || output === "prometheus"))
    throw new UsageError(`--${output} reports to a monitoring system; it cannot run a command after --`);

  const problems = new Problems(io);
  let lines: PlannedLine[];
  try {
    lines = await linesOf(specs, once(raw, "file"), io, problems);
  } catch (err) {
    // Too many targets, a line too long, a file that cannot be read on: told after the lines before it.
    problems.tell(err);
    throw err;
  }
  const caFiles = new Map<string, Promise<string>>();
  const plainLines = lines.filter(({ line }) => Object.keys(line.options).length === 0);
  let shared: Settings;
  try {
    shared = await settingsOf(raw, output, caFiles, {
      https: plainLines.some(({ line }) => line.specs.some(isHttps)),
      secureService: plainLines.some(({ line }) => line.specs.some(isSecureService)),
    });
  } catch (err) {
    // The command line's own options are wrong: that is told last, after the lines.
    problems.tell(err);
    throw err;
  }
  const items: TargetPlan[] = [];
  let anyTls = false;
  let anyHttp = false;
  let anyService = false;
  for (const planned of lines) {
    if (planned.where === undefined) {
      // A plain target of the command line: a mistake in it ends the reading, after the lines before it.
      try {
        await planLine(planned);
      } catch (err) {
        problems.tell(err);
        throw err;
      }
      continue;
    }
    const before = items.length;
    try {
      await planLine(planned);
    } catch (err) {
      if (err instanceof TooManyTargets) problems.tell(err);
      items.length = before;
      problems.add(planned.order, err);
    }
  }
  problems.tell();
  async function planLine({ line, where, file }: PlannedLine): Promise<void> {
    const own = Object.keys(line.options).length > 0;
    const kinds = {
      https: line.specs.some(isHttps),
      http: line.specs.some(isHttp),
      service: line.specs.some((spec) => serviceOf(spec) !== undefined),
      secureService: line.specs.some(isSecureService),
    };
    const settings = own
      ? await at(where, () => settingsOf({ ...raw, ...line.options }, output, caFiles, { ...kinds, own: line.options }))
      : shared;
    for (const spec of line.specs) {
      for (let target of await at(where, () => expandSpec(spec))) {
        const prefix = where ? `${where}: ` : "";
        if (target.http) {
          anyHttp = true;
          anyTls ||= target.http.secure;
          if (settings.udp)
            throw new UsageError(`${prefix}--udp is for host:port targets; ${target.http.url} is checked over TCP`);
          if (settings.probe.tls)
            throw new UsageError(`${prefix}--tls is for host:port targets; write https:// for an HTTPS check`);
          if (settings.probe.protocol)
            throw new UsageError(`${prefix}--protocol is for host:port targets, not ${target.http.url}`);
          const probe: ProbeOptions = {
            ...settings.probe,
            tls: target.http.secure ? (settings.tlsOptions ?? { insecure: false }) : undefined,
            http: settings.http,
          };
          items.push({
            target,
            probe,
            udpSilentOk: false,
            thresholds: { ...settings.thresholds, statusGiven: settings.statusGiven },
            place: placeOf(file),
          });
        } else if (target.service) {
          anyService = true;
          anyTls ||= target.service.tls;
          items.push({
            target,
            probe: serviceProbeOptions(target.service, settings, prefix),
            udpSilentOk: false,
            thresholds: settings.thresholds,
            place: placeOf(file),
          });
        } else {
          anyTls ||= settings.probe.tls !== undefined;
          if (settings.udp) target = { ...target, transport: "udp" };
          if (settings.probe.tls && target.transport === "udp")
            throw new UsageError(`${prefix}--tls is for TCP targets; drop the udp:// targets or --udp`);
          items.push({
            target,
            probe: settings.probe,
            udpSilentOk: settings.udpSilentOk,
            thresholds: settings.thresholds,
            place: placeOf(file),
          });
        }
        if (items.length > MAX_TARGETS)
          throw new TooManyTargets(`more than ${MAX_TARGETS} targets in one check; split the ranges over several runs`);
      }
    }
  }
  /** placeOf is where the next target stands: its index, and its --file line. */
  function placeOf(file: PlannedLine["file"]): Place {
    return file ? { index: items.length, file: file.path, line: file.number } : { index: items.length };
  }
  if (items.length === 0) throw new UsageError("no targets to check (give TARGET... or --file FILE)");
  // On the command line, the TLS and HTTP options are for the targets that use them; with none, they are a mistake.
  for (const [key, flag] of FOR_TLS) {
    if (raw[key] !== undefined && raw[key] !== false && !anyTls)
      throw new UsageError(`${flag} is for TLS checks: add --tls, or check an https:// URL`);
  }
  for (const [key, flag] of FOR_HTTP) {
    if (raw[key] !== undefined && raw[key] !== false && !anyHttp)
      throw new UsageError(`${flag} is for http:// and https:// targets`);
  }
  for (const [key, flag] of FOR_SERVICE) {
    if (raw[key] !== undefined && !anyService)
      throw new UsageError(`${flag} is for service URLs (${SERVICE_EXAMPLES})`);
  }

  const concurrency = parseCount(once(raw, "concurrency") ?? DEFAULTS.concurrency, "--concurrency", 10_000, 1);
  return {
    items,
    output,
    command,
    run: {
      timeoutMs: shared.probe.timeoutMs,
      retries: parseCount(once(raw, "retries") ?? DEFAULTS.retries, "--retries", 100),
      waitMs: raw.wait === undefined ? undefined : parseDuration(once(raw, "wait"), "--wait"),
      concurrency,
      udpSilentOk: shared.udpSilentOk,
      down: Boolean(raw.down),
    },
  };
}

const SERVICE_EXAMPLES = "postgres://, mysql://, redis://, amqp://...";

/** isSecureService: a service URL that asks for TLS (rediss://, postgres://...?sslmode=require), so --ca applies. */
function isSecureService(spec: string): boolean {
  if (serviceOf(spec) === undefined) return false;
  try {
    return parseServiceUrl(spec).service.tls;
  } catch {
    // A URL that does not parse is refused where its targets are read, with the line it is on.
    return false;
  }
}

/**
 * serviceProbeOptions are a service URL's probe: the service speaks its own protocol, so the options that shape a
 * host:port probe are mistakes; the password is --password-file's, else the one the service's own tools read from the
 * environment (the URL's own wins over both, when the probe runs).
 */
function serviceProbeOptions(service: ServiceEndpoint, settings: Settings, prefix: string): ProbeOptions {
  const refuse = (flag: string, instead: string) => {
    throw new UsageError(`${prefix}${flag} is for host:port targets; ${service.url} ${instead}`);
  };
  if (settings.udp) refuse("--udp", "is checked over its service's own transport");
  if (settings.probe.tls) refuse("--tls", "says TLS in its URL (rediss://, ?sslmode=require)");
  if (settings.probe.protocol) refuse("--protocol", "speaks its service's own protocol");
  if (settings.probe.send) refuse("--send", "speaks its service's own protocol");
  const env = SERVICES[service.kind].env;
  const password = settings.password ?? (env === undefined ? undefined : process.env[env] || undefined);
  const tls = service.tls ? (settings.tlsOptions ?? { insecure: false }) : undefined;
  return { timeoutMs: settings.probe.timeoutMs, wanted: settings.probe.wanted, password, tls };
}

/** commandOf reads the words after `--`: none means no command; `--` with nothing after it is a mistake. */
function commandOf(words: unknown): string[] | undefined {
  if (!Array.isArray(words)) return undefined;
  if (words.length === 0) return undefined;
  if (words[0] === "") throw new UsageError("the command after -- is empty");
  return words.map(String);
}

interface Settings {
  probe: ProbeOptions;
  /** tlsOptions are --ca, --insecure and --cert-days, for --tls and for https:// targets alike. */
  tlsOptions?: NonNullable<ProbeOptions["tls"]>;
  http: HttpRequestOptions;
  /** statusGiven: --status was typed, not the default (--nagios grades a miss as check_http -e does). */
  statusGiven: boolean;
  udp: boolean;
  udpSilentOk: boolean;
  thresholds: { warningMs?: number; criticalMs?: number };
  /** password is --password-file's first line. */
  password?: string;
}

/**
 * settingsOf reads what is asked of a target from options in cac's shape: the command line's, with a
 * line's own on top. `line.own` are the line's options alone: a TLS option there without --tls or an
 * https:// target is a mistake, as an HTTP option is without an http(s):// target.
 */
async function settingsOf(
  raw: Record<string, unknown>,
  output: Output,
  caFiles: Map<string, Promise<string>>,
  line: { https: boolean; http?: boolean; service?: boolean; secureService?: boolean; own?: Record<string, unknown> },
): Promise<Settings> {
  const own = line.own;
  // The protocol table only when asked: building it (chargen's 64 KiB pattern) is start-up every check would pay.
  const protocol =
    raw.protocol === undefined
      ? undefined
      : (await import("../protocol/index.ts")).protocolNamed(String(once(raw, "protocol")));
  const send = raw.send === undefined ? undefined : readEscapes(String(once(raw, "send")), "--send");
  const wanted = matcher(once(raw, "expect"), once(raw, "match"), once(raw, "expectPrefix"));
  const tls = Boolean(raw.tls);
  const udp = Boolean(raw.udp);
  if (tls && udp) throw new UsageError("--tls is for TCP targets; drop the udp:// targets or --udp");
  if (tls && protocol) throw new UsageError("--tls and --protocol cannot be used together");
  if (own && !tls && !line.https && !line.secureService) {
    for (const [key, flag] of FOR_TLS) {
      if (own[key] !== undefined)
        throw new UsageError(`${flag} is for TLS checks: add --tls, or check an https:// URL`);
    }
  }
  if (own && !line.http) {
    for (const [key, flag] of FOR_HTTP) {
      if (own[key] !== undefined) throw new UsageError(`${flag} is for http:// and https:// targets`);
    }
  }
  if (own && !line.service) {
    for (const [key, flag] of FOR_SERVICE) {
      if (own[key] !== undefined) throw new UsageError(`${flag} is for service URLs (${SERVICE_EXAMPLES})`);
    }
  }
  if (send && send.length > MAX_DATAGRAM && udp)
    throw new UsageError(`--send is ${send.length} bytes; a UDP datagram carries at most ${MAX_DATAGRAM}`);
  if (send && send.length > MAX_REPLY * 16)
    throw new UsageError(`--send is ${send.length} bytes; a probe is at most ${MAX_REPLY * 16}`);
  // A line's thresholds wait for --nagios: one runbook file serves people and the monitoring system.
  for (const nagiosOnly of ["warning", "critical"]) {
    if (raw[nagiosOnly] !== undefined && own?.[nagiosOnly] === undefined && output !== "nagios")
      throw new UsageError(`--${nagiosOnly} is a latency threshold for --nagios`);
  }
  let tlsOptions: Settings["tlsOptions"];
  if (tls || line.https || line.secureService) {
    let ca: string | undefined;
    if (raw.ca !== undefined) {
      const path = String(once(raw, "ca"));
      if (!caFiles.has(path)) {
        // Each line may name its own: each file is bounded, and so is their number.
        if (caFiles.size >= MAX_CA_FILES) throw new UsageError(`more than ${MAX_CA_FILES} --ca files in one check`);
        caFiles.set(path, readFile(path, "--ca", MAX_CA_FILE));
      }
      ca = await caFiles.get(path)!;
    }
    tlsOptions = {
      insecure: Boolean(raw.insecure),
      certDays: raw.certDays === undefined ? undefined : parseCertDays(once(raw, "certDays"), "--cert-days"),
      ca,
    };
  }
  return {
    probe: {
      timeoutMs: parseDuration(once(raw, "timeout") ?? DEFAULTS.timeout, "--timeout"),
      send,
      wanted,
      protocol,
      tls: tls ? tlsOptions : undefined,
    },
    tlsOptions,
    http: httpRequest(raw, send, wanted !== undefined),
    statusGiven: raw.status !== undefined,
    udp,
    udpSilentOk: Boolean(raw.udpSilentOk),
    password: raw.passwordFile === undefined ? undefined : await readPassword(String(once(raw, "passwordFile"))),
    thresholds: {
      warningMs: raw.warning === undefined ? undefined : parseThreshold(once(raw, "warning"), "--warning"),
      criticalMs: raw.critical === undefined ? undefined : parseThreshold(once(raw, "critical"), "--critical"),
    },
  };
}

/**
 * httpRequest reads --method, --header, --status and --follow; --send is the body, and makes the method POST unless
 * given, as curl -d does.
 */
function httpRequest(
  raw: Record<string, unknown>,
  body: Uint8Array | undefined,
  bodyWanted: boolean,
): HttpRequestOptions {
  const method =
    raw.method === undefined ? (body ? DEFAULTS.bodyMethod : DEFAULTS.method) : parseMethod(once(raw, "method"));
  const upper = method.toUpperCase();
  if (body && (upper === "GET" || upper === "HEAD"))
    throw new UsageError(
      `--send is the request body of an HTTP check; a ${upper} request has none (use --method POST or PUT)`,
    );
  if (bodyWanted && upper === "HEAD")
    throw new UsageError("--expect and --match read the body, and the answer to HEAD has none");
  if (raw.allowDowngrade && !raw.follow) throw new UsageError("--allow-downgrade is for --follow");
  return {
    method,
    headers: parseHeaders(raw.header),
    body,
    status: parseStatusSet(once(raw, "status") ?? DEFAULTS.status),
    follow: Boolean(raw.follow),
    allowDowngrade: Boolean(raw.allowDowngrade),
  };
}

/** readSpecs streams the lines of --file (`-` is stdin), bounded as FILE_LIMITS says. */
function readSpecs(path: string, io: Io): AsyncGenerator<InputLine> {
  return readLines(path, io, "--file");
}

/** readPassword reads --password-file's first line, without its line ending: what `cat FILE` shows a person. */
async function readPassword(path: string): Promise<string> {
  const password = (await readFile(path, "--password-file", MAX_PASSWORD_FILE)).split(/\r?\n/)[0]!;
  if (password === "") throw new UsageError(`--password-file ${quote(path)}: the first line is empty`);
  return password;
}

/** readFile reads an option's file whole: a regular file of at most max bytes. */
async function readFile(path: string, option: string, max: number): Promise<string> {
  try {
    return new TextDecoder().decode(readSmallFile(path, option, max));
  } catch (err) {
    throw err instanceof UsageError ? err : cannotRead(option, path, err);
  }
}
