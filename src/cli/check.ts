// `upcat check`: is it reachable, does it answer, does the answer match; many targets at once.
import type { CAC } from "cac";
import { unescape } from "../check/escapes.ts";
import { MAX_REPLY } from "../check/probe.ts";
import type { CheckResult } from "../check/result.ts";
import { parseCheckLine, type CheckLine } from "../check/check-line.ts";
import type { ProbeOptions } from "../check/probe.ts";
import { runChecks, type Progress, type RunOptions } from "../check/run.ts";
import { expandSpec, MAX_TARGETS } from "../check/spec.ts";
import { UsageError } from "../errors.ts";
import { protocolNamed } from "../protocol/index.ts";
import type { Target } from "../transport/target.ts";
import { MAX_DATAGRAM } from "../transport/transport.ts";
import { jsonRecord, resultLine, summaryLine, targetText } from "./check-output.ts";
import type { Io } from "./io.ts";
import type { UsageErrorHandler } from "./usage-errors.ts";
import { nagiosReport } from "./nagios.ts";
import { parseCertDays, parseCount, parseDuration, parseThreshold } from "./option-values.ts";

type Output = "text" | "json" | "quiet" | "nagios";

/** TargetPlan is one target with everything asked of it: by the command line, or by its own line. */
interface TargetPlan {
  target: Target;
  probe: ProbeOptions;
  udpSilentOk: boolean;
  thresholds: { warningMs?: number; criticalMs?: number };
}

interface CheckPlan {
  items: TargetPlan[];
  run: Pick<RunOptions, "retries" | "waitMs" | "concurrency" | "timeoutMs" | "udpSilentOk">;
  output: Output;
}

/** DEFAULTS are the options' defaults as a user types them, stated once for the help and the code. */
const DEFAULTS = { timeout: "2s", retries: "0", concurrency: "100" } as const;

/** one reads an option that may be given once only (cac makes an array of repeats). */
function one(raw: Record<string, unknown>, name: string): unknown {
  const value = raw[name];
  if (Array.isArray(value)) throw new UsageError(`--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} can be given once`);
  return value;
}

/** at puts where a line came from (FILE:LINE, or the argument) in front of what is wrong with it. */
async function at<T>(where: string | undefined, read: () => T | Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (where && err instanceof UsageError) throw new UsageError(`${where}: ${err.message}`);
    throw err;
  }
}

/** linesOf reads the check lines of the arguments and --file: a word with blanks in it is a line with its own options. */
async function linesOf(specs: string[], file: unknown, io: Io): Promise<{ line: CheckLine; where?: string }[]> {
  const lines: { line: CheckLine; where?: string }[] = [];
  for (const spec of specs) {
    if (!/\s/.test(spec.trim())) {
      lines.push({ line: { specs: [spec], options: {} } });
      continue;
    }
    const where = `in argument ${JSON.stringify(spec)}`;
    const line = await at(where, () => parseCheckLine(spec));
    if (line) lines.push({ line, where });
  }
  if (file !== undefined) {
    const path = String(file);
    const text = await readSpecs(path, io);
    const name = path === "-" ? "stdin" : path;
    let number = 0;
    for (const raw of text.split("\n")) {
      number++;
      const where = `${name}:${number}`;
      const line = await at(where, () => parseCheckLine(raw));
      if (line) lines.push({ line, where });
    }
  }
  return lines;
}

/** plan checks the whole command line, and reads --file, before any socket opens. */
async function plan(specs: string[], raw: Record<string, unknown>, io: Io): Promise<CheckPlan> {
  const outputs = (["json", "quiet", "nagios"] as const).filter((o) => raw[o]);
  if (outputs.length > 1) throw new UsageError(`--${outputs[0]} and --${outputs[1]} cannot be used together`);
  const output: Output = outputs[0] ?? "text";

  const lines = await linesOf(specs, one(raw, "file"), io);
  const caFiles = new Map<string, Promise<string>>();
  const shared = await settingsOf(raw, output, caFiles);
  const items: TargetPlan[] = [];
  let anyTls = false;
  for (const { line, where } of lines) {
    const own = Object.keys(line.options).length > 0;
    const settings = own ? await at(where, () => settingsOf({ ...raw, ...line.options }, output, caFiles, line.options)) : shared;
    anyTls ||= settings.probe.tls !== undefined;
    for (const spec of line.specs) {
      for (let target of await at(where, () => expandSpec(spec))) {
        if (settings.udp) target = { ...target, transport: "udp" };
        if (settings.probe.tls && target.transport === "udp") {
          throw new UsageError(`${where ? `${where}: ` : ""}--tls is for TCP targets; drop the udp:// targets or --udp`);
        }
        items.push({ target, probe: settings.probe, udpSilentOk: settings.udpSilentOk, thresholds: settings.thresholds });
        if (items.length > MAX_TARGETS) throw new UsageError(`more than ${MAX_TARGETS} targets in one check; split the ranges over several runs`);
      }
    }
  }
  if (items.length === 0) throw new UsageError("no targets to check (give TARGET... or --file FILE)");
  // On the command line, the TLS options are for the targets that use TLS; with none, they are a mistake.
  for (const [key, flag] of [["ca", "--ca"], ["insecure", "--insecure"], ["certDays", "--cert-days"]] as const) {
    if (raw[key] !== undefined && raw[key] !== false && !anyTls) throw new UsageError(`${flag} is for TLS checks; add --tls`);
  }

  const concurrency = parseCount(one(raw, "concurrency") ?? DEFAULTS.concurrency, "--concurrency", 10_000, 1);
  return {
    items,
    output,
    run: {
      timeoutMs: shared.probe.timeoutMs,
      retries: parseCount(one(raw, "retries") ?? DEFAULTS.retries, "--retries", 100),
      waitMs: raw.wait === undefined ? undefined : parseDuration(one(raw, "wait"), "--wait"),
      concurrency,
      udpSilentOk: shared.udpSilentOk,
    },
  };
}

interface Settings {
  probe: ProbeOptions;
  udp: boolean;
  udpSilentOk: boolean;
  thresholds: { warningMs?: number; criticalMs?: number };
}

/**
 * settingsOf reads what is asked of a target from options in cac's shape: the command line's, with a
 * line's own on top. `own` are the line's options alone: a TLS option there without --tls is a mistake.
 */
async function settingsOf(raw: Record<string, unknown>, output: Output, caFiles: Map<string, Promise<string>>, own?: Record<string, unknown>): Promise<Settings> {
  const protocol = raw.protocol === undefined ? undefined : protocolNamed(String(one(raw, "protocol")));
  const send = raw.send === undefined ? undefined : unescape(String(one(raw, "send")), "--send");
  const wanted = matcher(one(raw, "expect"), one(raw, "match"));
  const tls = Boolean(raw.tls);
  const udp = Boolean(raw.udp);
  if (tls && udp) throw new UsageError("--tls is for TCP targets; drop the udp:// targets or --udp");
  if (tls && protocol) throw new UsageError("--tls and --protocol cannot be used together");
  if (own && !tls) {
    for (const [key, flag] of [["ca", "--ca"], ["insecure", "--insecure"], ["certDays", "--cert-days"]] as const) {
      if (own[key] !== undefined) throw new UsageError(`${flag} is for TLS checks; add --tls`);
    }
  }
  if (send && send.length > MAX_DATAGRAM && udp) throw new UsageError(`--send is ${send.length} bytes; a UDP datagram carries at most ${MAX_DATAGRAM}`);
  if (send && send.length > MAX_REPLY * 16) throw new UsageError(`--send is ${send.length} bytes; a probe is at most ${MAX_REPLY * 16}`);
  // A line's thresholds wait for --nagios: one runbook file serves people and the monitoring system.
  for (const nagiosOnly of ["warning", "critical"]) {
    if (raw[nagiosOnly] !== undefined && own?.[nagiosOnly] === undefined && output !== "nagios") throw new UsageError(`--${nagiosOnly} is a latency threshold for --nagios`);
  }
  let ca: string | undefined;
  if (tls && raw.ca !== undefined) {
    const path = String(one(raw, "ca"));
    if (!caFiles.has(path)) caFiles.set(path, readFile(path, "--ca"));
    ca = await caFiles.get(path)!;
  }
  return {
    probe: {
      timeoutMs: parseDuration(one(raw, "timeout") ?? DEFAULTS.timeout, "--timeout"),
      send,
      wanted,
      protocol,
      tls: tls ? { insecure: Boolean(raw.insecure), certDays: raw.certDays === undefined ? undefined : parseCertDays(one(raw, "certDays"), "--cert-days"), ca } : undefined,
    },
    udp,
    udpSilentOk: Boolean(raw.udpSilentOk),
    thresholds: {
      warningMs: raw.warning === undefined ? undefined : parseThreshold(one(raw, "warning"), "--warning"),
      criticalMs: raw.critical === undefined ? undefined : parseThreshold(one(raw, "critical"), "--critical"),
    },
  };
}

/**
 * matcher builds the test of a reply from --expect (bytes it must contain) and --match (a regular
 * expression, multiline as grep and check_http -r read it: ^ and $ anchor each line). Both compare
 * text: what the user typed is never read as a number.
 */
function matcher(expect: unknown, match: unknown): ((reply: Uint8Array) => boolean) | undefined {
  // An empty --expect or --match is in every reply, the empty one too: it asks for nothing.
  const needle = expect === undefined || expect === "" ? undefined : Buffer.from(unescape(String(expect), "--expect"));
  let regex: RegExp | undefined;
  if (match !== undefined && match !== "") {
    try {
      regex = new RegExp(String(match), "m");
    } catch (err) {
      throw new UsageError(`invalid --match: ${(err as Error).message}`);
    }
  }
  if (!needle && !regex) return undefined;
  const decoder = new TextDecoder();
  // Protocol lines end in CRLF (SMTP, SSH, redis): $ must anchor before the \r too, as it does for
  // people reading them; a pattern that names the \r itself still matches the reply as it came.
  const matches = (text: string) => regex!.test(text) || (text.includes("\r\n") && regex!.test(text.replaceAll("\r\n", "\n")));
  return (reply) => (!needle || Buffer.from(reply.buffer, reply.byteOffset, reply.length).includes(needle)) && (!regex || matches(decoder.decode(reply)));
}

async function readSpecs(path: string, io: Io): Promise<string> {
  if (path !== "-") return readFile(path, "--file");
  const chunks: Uint8Array[] = [];
  for await (const chunk of io.stdin()) chunks.push(chunk);
  return new TextDecoder().decode(Buffer.concat(chunks));
}

async function readFile(path: string, option: string): Promise<string> {
  try {
    return await Bun.file(path).text();
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a directory" : (err as Error).message;
    throw new UsageError(`cannot read ${option} ${path}: ${why}`);
  }
}

async function check(specs: string[], raw: Record<string, unknown>, io: Io): Promise<number> {
  const p = await plan(specs, raw, io);
  const started = performance.now();
  const live = p.output === "text" && io.statusLive;
  const targets = p.items.map((item) => item.target);
  const width = Math.min(40, Math.max(...targets.map((t) => targetText(t).length)));
  // Lines go out in the order the targets were given, each as soon as those before it are in.
  const finished: (CheckResult | undefined)[] = new Array(targets.length);
  let printed = 0;
  const onResult = (index: number, result: CheckResult) => {
    finished[index] = result;
    if (p.output !== "text" && p.output !== "json") return;
    if (live) io.status(undefined);
    for (; printed < finished.length && finished[printed]; printed++) {
      const r = finished[printed]!;
      io.out(p.output === "json" ? `${JSON.stringify(jsonRecord(r))}\n` : `${resultLine(r, io, width)}\n`);
    }
  };
  const onProgress = live && p.run.waitMs !== undefined ? (g: Progress) => io.status(progressLine(g)) : undefined;

  const each = p.items.map((item) => ({ ...item.probe, udpSilentOk: item.udpSilentOk }));
  const results = await runChecks(targets, { ...p.run, each, onResult, onProgress });
  if (live) io.status(undefined);
  let status = results.every((r) => r.ok) ? 0 : 1;
  if (p.output === "nagios") {
    const report = nagiosReport(results, p.items.map((item) => ({ ...item.thresholds, timeoutMs: item.probe.timeoutMs })));
    io.out(`${report.line}\n`);
    status = report.status;
  } else if (p.output === "text") {
    io.err(summaryLine(results, performance.now() - started));
  }
  await io.flush();
  return status;
}

function progressLine(g: Progress): string {
  const names = g.waiting.slice(0, 3).map(targetText).join(", ");
  const more = g.waiting.length > 3 ? ` and ${g.waiting.length - 3} more` : "";
  return `${(g.elapsedMs / 1000).toFixed(1)}s  ${g.passed}/${g.total} up${names ? `, waiting for ${names}${more}` : ""}`;
}

/**
 * nagiosUsage: a monitoring system reads stdout and wants UNKNOWN (3) for a plugin it called wrongly,
 * not exit 2 and a line on stderr it never shows.
 */
function nagiosUsage(io: Io): UsageErrorHandler {
  return async (err, options) => {
    if (!options.nagios) return undefined;
    io.out(`UPCAT UNKNOWN - ${err.message}\n`);
    await io.flush();
    return 3;
  };
}

/** registerCheck adds `upcat check` and returns how it answers a wrong command line. */
export function registerCheck(cli: CAC, io: Io): UsageErrorHandler {
  cli
    .command("check [...targets]", "Check that targets are reachable and answer as expected (exit 0 only if all pass)")
    .usage("check [options] TARGET... | 'TARGET [per-target options]'...")
    .option("--file <file>", "Read more targets from FILE (- for stdin): a line is TARGET... [its own --send --expect --match --tls ...], # comments")
    .option("--udp", "Check host:port targets over UDP (as udp://host:port)")
    .option("--timeout <duration>", "Wait this long for each handshake, UDP reply or expected reply", { default: DEFAULTS.timeout })
    .option("--send <string>", "Send this probe after connecting, or as the UDP datagram (escapes: \\r \\n \\t \\0 \\xHH)")
    .option("--expect <string>", "Pass only if the reply contains this text (same escapes; 0220 is not 220)")
    .option("--match <regex>", "Pass only if the reply matches this regular expression; ^ and $ anchor each line (multiline, as grep)")
    .option("--protocol <name>", "Speak this protocol's client and check its answer (see `upcat protocols`)")
    .option("--tls", "Pass only on a completed TLS handshake with a certificate; report its subject and expiry")
    .option("--ca <file>", "Trust the CA certificates in this PEM file, not the system's (with --tls)")
    .option("--insecure", "Pass a TLS certificate that does not verify (with --tls)")
    .option("--cert-days <warn[,crit]>", "Fail when the certificate has at most WARN days left (check_tcp -D; --nagios: CRITICAL at CRIT)")
    .option("--retries <n>", "Try a failing target this many more times, backing off from 100ms", { default: DEFAULTS.retries })
    .option("--wait <duration>", "Keep trying until every target passes or this much time has gone (wait-for-it)")
    .option("--concurrency <n>", "At most this many tries at once", { default: DEFAULTS.concurrency })
    .option("--udp-silent-ok", "Pass a UDP target that sends nothing back (open or filtered)")
    .option("--json", "One JSON object per target: target, proto, host, address, port, state, latency_ms, reply, error")
    .option("--quiet", "Print nothing; the exit status says it all")
    .option("--nagios", "Monitoring-plugin output and exit status (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)")
    .option("--warning <seconds>", "With --nagios: WARNING when a target takes longer than this (0.5, 0.000001, 500ms)")
    .option("--critical <seconds>", "With --nagios: CRITICAL when a target takes longer than this")
    .example("  upcat check db:5432 cache:6379          # like nc -z, but every target must pass")
    .example("  upcat check 127.0.0.1:8000-8010,9000 --json | jq -c 'select(.ok|not)'")
    .example("  upcat check --wait 30s api:8080         # wait-for-it")
    .example("  upcat check mail:25 --expect 220        # like check_tcp -e 220")
    .example("  upcat check udp://127.0.0.1:12000 --protocol upper")
    .example("  upcat check --tls --cert-days 14,7 example.org:443")
    .example("  upcat check 'redis:6379 --send PING\\r\\n --expect +PONG' 'ssh:22 --match ^SSH-2.0'")
    .example("  upcat check --nagios --warning 0.5 --critical 1 db:5432")
    .action((targets: string[], options: Record<string, unknown>) => check(targets, options, io));
  return nagiosUsage(io);
}
