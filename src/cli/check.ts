// `upcat check`: is it reachable, does it answer, does the answer match; many targets at once; then, if asked, run a
// command.
import type { CAC } from "cac";
import type { CheckResult } from "../check/result.ts";
import { CHECK_OPTIONS, cacDefault } from "../check/options.ts";
import { CommandFailed, runCommand, signalStatus, untilSignal } from "../check/run-command.ts";
import { runChecks, type Progress } from "../check/run.ts";
import { UsageError } from "../errors.ts";
import { jsonRecord } from "../check/report/json.ts";
import { targetText } from "../check/report/target.ts";
import { progressLine, resultLine, summaryLine } from "../check/report/text.ts";
import { type CheckPlan, plan } from "./check-plan.ts";
import type { Io } from "./io.ts";
import { waitNotes } from "./wait-notes.ts";
import { lowered, loweredText } from "../transport/open-files.ts";

/** EXIT_WAIT_EXPIRED is the status when --wait runs out first, as timeout(1), wait-for-it and wait4x exit. */
export const EXIT_WAIT_EXPIRED = 124;

async function check(specs: string[], raw: Record<string, unknown>, io: Io): Promise<number> {
  if (raw.schema) {
    if (specs.length > 0 || raw.file !== undefined)
      throw new UsageError("--schema prints the schema of a --json line; it takes no targets");
    const { CHECK_RECORD_SCHEMA } = await import("../check/json-schema.ts");
    io.out(`${JSON.stringify(CHECK_RECORD_SCHEMA, null, 2)}\n`);
    await io.flush();
    return 0;
  }
  // Probes time themselves by the event loop's timers: a slow reader of the report must not hold the loop up.
  io.unblockPipes();
  const p = await plan(specs, raw, io);
  const started = performance.now();
  // Before `-- CMD`, stdout belongs to CMD: upcat's own lines go to stderr, as wait-for-it's do.
  const show: Io = p.command
    ? { ...io, out: (text) => io.err(String(text).replace(/\n$/, "")), outColor: io.errColor }
    : io;
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
      const line =
        p.output === "json" ? JSON.stringify(jsonRecord(r, p.items[printed]!.place)) : resultLine(r, show, width);
      show.out(`${line}\n`);
    }
  };
  // --wait says whom it waits for and, every few seconds, who is still awaited and why: in a log too, where no live
  // line is. Not under --quiet, --json, --nagios or --prometheus, whose readers are programs.
  const waitMs = p.run.waitMs;
  const say = (line: string) => {
    if (live) io.status(undefined);
    io.err(line);
  };
  const note = p.output === "text" && waitMs !== undefined ? waitNotes(say, targets, waitMs, !!p.run.down) : undefined;
  const onProgress =
    waitMs !== undefined && (live || note)
      ? (g: Progress) => {
          note?.(g);
          if (live) io.status(progressLine(g, p.run.down));
        }
      : undefined;

  const each = p.items.map((item) => ({ ...item.probe, udpSilentOk: item.udpSilentOk }));
  const concurrency = await fitConcurrency(p, io);
  // Before a CMD (or as PID 1, where an unhandled signal is ignored), a signal ends the wait and CMD never runs: until
  // runCommand has its own handlers, the report's flushes included (a slow reader of stderr can hold them up).
  const interrupt = p.command || process.pid === 1 ? untilSignal() : undefined;
  /** until is what `work` gives, or the name of the signal that came first. */
  const until = <T>(work: Promise<T>): Promise<T | string> =>
    interrupt ? Promise.race([work, interrupt.signal]) : work;
  const stopped = (signal: string, when: string) => {
    io.err(`upcat: ${signal}${when}${p.command ? `; not running ${p.command[0]}` : ""}`);
    return signalStatus(signal);
  };
  try {
    const ran = await until(runChecks(targets, { ...p.run, concurrency, each, onResult, onProgress }));
    if (live) io.status(undefined);
    if (typeof ran === "string") return stopped(ran, " before every target passed");
    const results = ran;
    const passed = results.every((r) => r.ok);
    // A deadline missed is told apart from a check that failed: 124, as timeout(1) says it.
    let status = passed ? 0 : p.run.waitMs !== undefined ? EXIT_WAIT_EXPIRED : 1;
    // The schema, --nagios and --prometheus are loaded when asked for: a plain check need not pay their start-up.
    if (p.output === "nagios") {
      const { nagiosReport } = await import("../check/report/nagios.ts");
      const report = nagiosReport(
        results,
        p.items.map((item) => ({ ...item.thresholds, timeoutMs: item.probe.timeoutMs })),
      );
      io.out(`${report.line}\n`);
      status = report.status;
    } else if (p.output === "prometheus") {
      const { prometheusText } = await import("../check/report/prometheus.ts");
      io.out(prometheusText(results, targetText));
    } else if (p.output === "text") {
      const elapsed = performance.now() - started;
      // The lines first: when their reader has gone (`| head`), the process ends quietly there, with no summary.
      const signal = await until(io.flush());
      if (signal) return stopped(signal, "");
      io.err(summaryLine(results, elapsed));
    }
    const signal = await until(io.flush());
    if (signal) return stopped(signal, "");
    if (!p.command) return status;
    if (!passed) {
      if (p.output === "text")
        io.err(
          `upcat: not running ${p.command[0]}: ` +
            `${p.run.waitMs !== undefined ? "--wait ran out before every target passed" : "not every target passed"}`,
        );
      return status;
    }
    // From here, runCommand's handlers take a signal to CMD: ours go in the same turn, and one already caught stops it.
    const caught = interrupt?.caught();
    if (caught) return stopped(caught, "");
    interrupt?.dispose();
    try {
      return await runCommand(p.command, { terminal: io.stdinIsTTY || io.stdoutIsTTY || io.statusLive });
    } catch (err) {
      if (!(err instanceof CommandFailed)) throw err;
      io.err(`upcat: ${err.message}`);
      return err.status;
    }
  } finally {
    interrupt?.dispose();
  }
}

/**
 * fitConcurrency is --concurrency, lowered (and said, to text and json) to what the open-file limit lets through at
 * once: past it sockets cannot be made, and a port would be reported for this machine's shortage.
 */
async function fitConcurrency(p: CheckPlan, io: Io): Promise<number> {
  // Two files a try (its socket, and a second look or connection). A target has one try in flight at a time: fewer
  // targets than --concurrency never reach it.
  const l = await lowered(p.run.concurrency, { each: 2, reserved: 32, reach: p.items.length });
  if (!l) return p.run.concurrency;
  // Not where the report is one line for a monitoring system (--nagios, --prometheus), nor under --quiet.
  if (p.output === "text" || p.output === "json") io.err(`upcat: ${loweredText("--concurrency", l)}`);
  return l.to;
}

export function registerCheck(cli: CAC, io: Io): void {
  const command = cli
    .command(
      "check [...targets]",
      "Check that targets are reachable and answer as expected (exit 0 only if all pass); then run -- CMD",
    )
    .usage("check [options] TARGET... | 'TARGET [per-target options]'... [-- CMD [ARGS...]]");
  for (const option of CHECK_OPTIONS) command.option(option.flags, option.help, cacDefault(option));
  command
    .example("  upcat check db:5432 cache:6379          # like nc -z, but every target must pass")
    .example("  upcat check 127.0.0.1:8000-8010,9000 --json | jq -c 'select(.ok|not)'")
    .example("  upcat check --wait 60s db:5432 api:8080 -- ./server --port 80   # wait-for-it, then run")
    .example("  upcat check 'http://127.0.0.1:8080/healthz --expect ok' https://example.org/")
    .example("  upcat check --down --wait 30s api:8080   # wait until it no longer accepts")
    .example("  upcat check mail:25 --expect 220        # like check_tcp -e 220")
    .example("  upcat check udp://127.0.0.1:12000 --protocol upper")
    .example("  upcat check --tls --cert-days 14,7 example.org:443")
    .example("  upcat check 'redis:6379 --send PING\\r\\n --expect +PONG' 'ssh:22 --match ^SSH-2.0'")
    .example("  upcat check --nagios --warning 0.5 --critical 1 db:5432")
    .example("  upcat check --prometheus --file fleet.txt > /var/lib/node_exporter/upcat.prom.tmp")
    .action((targets: string[], options: Record<string, unknown>) => check(targets, options, io));
}
