// `upcat check`: is it reachable, does it answer, does the answer match; many targets at once.
import type { CAC } from "cac";
import { unescape } from "../check/escapes.ts";
import { MAX_REPLY } from "../check/probe.ts";
import type { CheckResult } from "../check/result.ts";
import { runChecks, type Progress, type RunOptions } from "../check/run.ts";
import { expandAll, specsFromText } from "../check/spec.ts";
import { UsageError } from "../errors.ts";
import { protocolNamed } from "../protocol/index.ts";
import type { Target } from "../transport/target.ts";
import { MAX_DATAGRAM } from "../transport/transport.ts";
import { jsonRecord, resultLine, summaryLine, targetText } from "./check-output.ts";
import type { Io } from "./io.ts";
import { nagiosReport } from "./nagios.ts";
import { parseCount, parseDuration } from "./option-values.ts";

type Output = "text" | "json" | "quiet" | "nagios";

interface CheckPlan {
  targets: Target[];
  run: Omit<RunOptions, "onResult" | "onProgress">;
  output: Output;
  warningMs?: number;
  criticalMs?: number;
}

/** one reads an option that may be given once only (cac makes an array of repeats). */
function one(raw: Record<string, unknown>, name: string): unknown {
  const value = raw[name];
  if (Array.isArray(value)) throw new UsageError(`--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} can be given once`);
  return value;
}

/** plan checks the whole command line, and reads --file, before any socket opens. */
async function plan(specs: string[], raw: Record<string, unknown>): Promise<CheckPlan> {
  const outputs = (["json", "quiet", "nagios"] as const).filter((o) => raw[o]);
  if (outputs.length > 1) throw new UsageError(`--${outputs[0]} and --${outputs[1]} cannot be used together`);
  const output: Output = outputs[0] ?? "text";

  const file = one(raw, "file");
  if (file !== undefined) specs = [...specs, ...specsFromText(await readSpecs(String(file)))];
  let targets = expandAll(specs);
  if (raw.udp) targets = targets.map((t) => ({ ...t, transport: "udp" }));

  const protocol = raw.protocol === undefined ? undefined : protocolNamed(String(one(raw, "protocol")));
  const send = raw.send === undefined ? undefined : unescape(String(one(raw, "send")), "--send");
  const wanted = matcher(one(raw, "expect"), one(raw, "match"));
  const tls = Boolean(raw.tls);
  if (tls && targets.some((t) => t.transport === "udp")) throw new UsageError("--tls is for TCP targets; drop the udp:// targets or --udp");
  if (tls && protocol) throw new UsageError("--tls and --protocol cannot be used together");
  for (const [key, flag] of [["ca", "--ca"], ["insecure", "--insecure"], ["certDays", "--cert-days"]] as const) {
    if (raw[key] !== undefined && raw[key] !== false && !tls) throw new UsageError(`${flag} is for TLS checks; add --tls`);
  }
  if (send && send.length > MAX_DATAGRAM && targets.some((t) => t.transport === "udp")) {
    throw new UsageError(`--send is ${send.length} bytes; a UDP datagram carries at most ${MAX_DATAGRAM}`);
  }
  if (send && send.length > MAX_REPLY * 16) throw new UsageError(`--send is ${send.length} bytes; a probe is at most ${MAX_REPLY * 16}`);
  for (const nagiosOnly of ["warning", "critical"]) {
    if (raw[nagiosOnly] !== undefined && output !== "nagios") throw new UsageError(`--${nagiosOnly} is a latency threshold for --nagios`);
  }

  const concurrency = parseCount(one(raw, "concurrency") ?? 100, "--concurrency", 10_000);
  if (concurrency < 1) throw new UsageError(`invalid --concurrency: "0" (expected a whole number from 1 to 10000)`);
  const certDays = raw.certDays === undefined ? undefined : parseCount(one(raw, "certDays"), "--cert-days", 36_500);
  return {
    targets,
    output,
    warningMs: raw.warning === undefined ? undefined : parseDuration(one(raw, "warning"), "--warning"),
    criticalMs: raw.critical === undefined ? undefined : parseDuration(one(raw, "critical"), "--critical"),
    run: {
      timeoutMs: parseDuration(one(raw, "timeout") ?? "2s", "--timeout"),
      retries: parseCount(one(raw, "retries") ?? 0, "--retries", 100),
      waitMs: raw.wait === undefined ? undefined : parseDuration(one(raw, "wait"), "--wait"),
      concurrency,
      udpSilentOk: Boolean(raw.udpSilentOk),
      send,
      wanted,
      protocol,
      tls: tls ? { insecure: Boolean(raw.insecure), certDays, ca: raw.ca === undefined ? undefined : await readFile(String(one(raw, "ca")), "--ca") } : undefined,
    },
  };
}

/** matcher builds the test of a reply from --expect (bytes it must contain) and --match (a regular expression). */
function matcher(expect: unknown, match: unknown): ((reply: Uint8Array) => boolean) | undefined {
  const needle = expect === undefined ? undefined : Buffer.from(unescape(String(expect), "--expect"));
  let regex: RegExp | undefined;
  if (match !== undefined) {
    try {
      regex = new RegExp(String(match));
    } catch (err) {
      throw new UsageError(`invalid --match: ${(err as Error).message}`);
    }
  }
  if (!needle && !regex) return undefined;
  const decoder = new TextDecoder();
  return (reply) => (!needle || Buffer.from(reply.buffer, reply.byteOffset, reply.length).includes(needle)) && (!regex || regex.test(decoder.decode(reply)));
}

async function readSpecs(path: string): Promise<string> {
  return path === "-" ? await new Response(Bun.stdin.stream()).text() : readFile(path, "--file");
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
  const p = await plan(specs, raw);
  const started = performance.now();
  const live = p.output === "text" && process.stderr.isTTY;
  const width = Math.min(40, Math.max(...p.targets.map((t) => targetText(t).length)));
  // Lines go out in the order the targets were given, each as soon as those before it are in.
  const finished: (CheckResult | undefined)[] = new Array(p.targets.length);
  let printed = 0;
  const onResult = (index: number, result: CheckResult) => {
    finished[index] = result;
    if (p.output !== "text" && p.output !== "json") return;
    if (live) process.stderr.write("\r\x1b[K");
    for (; printed < finished.length && finished[printed]; printed++) {
      const r = finished[printed]!;
      io.out(p.output === "json" ? `${JSON.stringify(jsonRecord(r))}\n` : `${resultLine(r, io, width)}\n`);
    }
  };
  const onProgress = live && p.run.waitMs !== undefined ? (g: Progress) => process.stderr.write(`\r${progressLine(g)}\x1b[K`) : undefined;

  const results = await runChecks(p.targets, { ...p.run, onResult, onProgress });
  if (live) process.stderr.write("\r\x1b[K");
  let status = results.every((r) => r.ok) ? 0 : 1;
  if (p.output === "nagios") {
    const report = nagiosReport(results, { warningMs: p.warningMs, criticalMs: p.criticalMs, timeoutMs: p.run.timeoutMs });
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

export function registerCheck(cli: CAC, io: Io): void {
  cli
    .command("check [...targets]", "Check that targets are reachable and answer as expected (exit 0 only if all pass)")
    .option("--file <file>", "Read more targets from FILE (- for stdin), one a line, # comments")
    .option("--udp", "Check host:port targets over UDP (as udp://host:port)")
    .option("--timeout <duration>", "Wait this long for each handshake, UDP reply or expected reply", { default: "2s" })
    .option("--send <string>", "Send this probe after connecting, or as the UDP datagram (escapes: \\r \\n \\t \\0 \\xHH)")
    .option("--expect <string>", "Pass only if the reply contains this (same escapes)")
    .option("--match <regex>", "Pass only if the reply matches this regular expression")
    .option("--protocol <name>", "Speak this protocol's client and check its answer (see `upcat protocols`)")
    .option("--tls", "Check a TLS handshake and report the certificate's subject and expiry")
    .option("--ca <file>", "Trust the CA certificates in this PEM file, not the system's (with --tls)")
    .option("--insecure", "Pass a TLS certificate that does not verify (with --tls)")
    .option("--cert-days <n>", "Fail when the certificate expires in fewer than N days (with --tls)")
    .option("--retries <n>", "Try a failing target this many more times, backing off from 100ms", { default: 0 })
    .option("--wait <duration>", "Keep trying until every target passes or this much time has gone (wait-for-it)")
    .option("--concurrency <n>", "At most this many tries at once", { default: 100 })
    .option("--udp-silent-ok", "Pass a UDP target that sends nothing back (open or filtered)")
    .option("--json", "One JSON object per target: target, proto, host, address, port, state, latency_ms, reply, error")
    .option("--quiet", "Print nothing; the exit status says it all")
    .option("--nagios", "Monitoring-plugin output and exit status (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)")
    .option("--warning <duration>", "With --nagios: WARNING when a target takes longer than this")
    .option("--critical <duration>", "With --nagios: CRITICAL when a target takes longer than this")
    .example("  upcat check db:5432 cache:6379          # like nc -z, but every target must pass")
    .example("  upcat check 127.0.0.1:8000-8010,9000 --json | jq -c 'select(.ok|not)'")
    .example("  upcat check --wait 30s api:8080         # wait-for-it")
    .example("  upcat check mail:25 --expect 220        # like check_tcp -e 220")
    .example("  upcat check udp://127.0.0.1:12000 --protocol upper")
    .example("  upcat check --tls --cert-days 14 example.org:443")
    .example("  upcat check --nagios --warning 0.5 --critical 1 db:5432")
    .action((targets: string[], options: Record<string, unknown>) => check(targets, options, io));
}
