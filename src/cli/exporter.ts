// `upcat exporter`: check behind Prometheus' Blackbox API (/probe?target=...&module=...); runs until SIGINT or SIGTERM.
import type { CAC } from "cac";
import { DEFAULTS, once } from "../check/options.ts";
import { NetError, UsageError } from "../errors.ts";
import { BUILT_IN, type Module, parseModules, sampleTarget } from "../exporter/modules.ts";
import type { PlannedProbe } from "../exporter/probe-run.ts";
import { startExporter } from "../exporter/server.ts";
import { parseTargetGate } from "../exporter/target-gate.ts";
import { hostPort } from "../transport/address.ts";
import { lowered, loweredText } from "../transport/open-files.ts";
import { plan } from "./check-plan.ts";
import type { Io } from "./io.ts";
import { parseCount, parseDuration } from "./option-values.ts";
import { cannotRead, readSmallFile } from "./read-input.ts";
import { nextSignal } from "./run-server.ts";
import { parseHttpAddress } from "./server-options.ts";

/** DEFAULT_LISTEN is Blackbox's port, on loopback: reaching further is asked for, not given. */
const DEFAULT_LISTEN = "127.0.0.1:9115";
/** DEFAULT_MAX_CONCURRENT bounds probes in flight: a scrape storm is answered 503, not with 10 000 sockets. */
const DEFAULT_MAX_CONCURRENT = "100";
/** MAX_CONFIG bounds --config: a page of modules. */
const MAX_CONFIG = 1 << 20;

/**
 * fitProbes is --max-concurrent, lowered (and said) to what the open-file limit holds, three files a probe (the
 * scrape's connection, the probe's socket and a second look): past it a probe gets no socket, and its target would
 * read as down.
 */
async function fitProbes(wanted: number, io: Io): Promise<number> {
  const l = await lowered(wanted, { each: 3, reserved: 64 });
  if (!l) return wanted;
  io.err(`upcat exporter: ${loweredText("--max-concurrent", l)}`);
  return l.to;
}

async function exporter(raw: Record<string, unknown>, io: Io): Promise<number> {
  const listen = parseHttpAddress(String(once(raw, "listen") ?? DEFAULT_LISTEN), "--listen");
  const allowed = raw.allowTarget === undefined ? [] : [raw.allowTarget].flat().map(String);
  const gate = parseTargetGate(allowed);
  const maxConcurrent = await fitProbes(
    parseCount(once(raw, "maxConcurrent") ?? DEFAULT_MAX_CONCURRENT, "--max-concurrent", 100_000, 1),
    io,
  );
  // Problems are thrown, one at a time, and become the 400's line: nothing of a probe reaches the exporter's stderr.
  const quiet: Io = { ...io, err() {} };
  const planner = async (spec: string, module: Module | undefined): Promise<PlannedProbe> => {
    const p = await plan([spec], { ...module?.options }, quiet);
    if (p.items.length !== 1)
      throw new UsageError(`a probe checks one target; ${p.items.length} are named (ranges are for upcat check)`);
    const { target, probe, udpSilentOk } = p.items[0]!;
    return { target, probe, udpSilentOk };
  };
  /** readConfig reads --config and plans each module of its own against a target of its kind, sending nothing. */
  const readConfig = async (value: unknown): Promise<Map<string, Module>> => {
    const read = readModules(value);
    for (const module of read.values()) {
      if (module.line === undefined) continue;
      try {
        await planner(sampleTarget(module), module);
      } catch (err) {
        if (err instanceof UsageError) throw new UsageError(`${String(value)}:${module.line}: ${err.message}`);
        throw err;
      }
    }
    return read;
  };
  const modules = raw.config === undefined ? new Map(BUILT_IN.map((m) => [m.name, m])) : await readConfig(raw.config);
  let running: ReturnType<typeof startExporter>;
  const first = nextSignal();
  try {
    running = startExporter({
      hostname: listen.host,
      port: listen.port,
      modules,
      gate,
      maxConcurrent,
      plan: planner,
      defaultTimeoutMs: parseDuration(DEFAULTS.timeout, "--timeout"),
    });
  } catch (err) {
    throw NetError.from("listen", "tcp", hostPort(listen.host, listen.port), err, "is another exporter running?");
  }
  const targets = allowed.length === 0 ? "any but loopback and link-local" : gate.text;
  io.err(
    `upcat exporter: listening on http://${hostPort(running.hostname, running.port)} ` +
      `(/probe, /metrics; modules: ${[...modules.keys()].join(",")}; targets: ${targets}; ` +
      `at most ${maxConcurrent} at once)`,
  );
  // Reachable from elsewhere and limited only by the built-in rule: say so once, where the operator reads.
  if (allowed.length === 0 && !/^(127\.|::1$|localhost$)/.test(listen.host))
    io.err(
      "upcat exporter: warning: no --allow-target, and listening beyond loopback: whoever reaches it may probe any " +
        "address but loopback and link-local",
    );
  // SIGHUP reads --config again, as Blackbox does: a ConfigMap that changed needs no restart. A file that no longer
  // reads leaves the modules as they were.
  const reload = async () => {
    if (raw.config === undefined) return io.err("upcat exporter: SIGHUP: no --config to read again");
    try {
      const next = await readConfig(raw.config);
      running.setModules(next);
      io.err(`upcat exporter: SIGHUP: --config read again, ${next.size - BUILT_IN.length} modules of its own`);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      running.reloadFailed();
      io.err(`upcat exporter: SIGHUP: --config not read again, the modules stay as they were: ${err.message}`);
    }
  };
  const onHangup = () => void reload();
  process.on("SIGHUP", onHangup);
  const signal = await first;
  process.off("SIGHUP", onHangup);
  await running.stop();
  io.err(`upcat exporter: stopped by ${signal}`);
  await io.flush();
  return 0;
}

/** readModules reads --config: the built-in modules and the file's. */
function readModules(value: unknown): Map<string, Module> {
  if (Array.isArray(value)) throw new UsageError("--config is given once");
  const path = String(value);
  let bytes: Uint8Array;
  try {
    bytes = readSmallFile(path, "--config", MAX_CONFIG);
  } catch (err) {
    throw err instanceof UsageError ? err : cannotRead("--config", path, err);
  }
  return parseModules(new TextDecoder().decode(bytes), path);
}

export function registerExporter(cli: CAC, io: Io): void {
  cli
    .command("exporter", "Answer Prometheus' Blackbox probes (/probe?target=...&module=...) with upcat's checks")
    .usage("exporter [--listen ADDR] [--config FILE] [--allow-target CIDR|HOST]...")
    .option("--listen <addr>", `Serve HTTP on this host:port (default ${DEFAULT_LISTEN})`)
    .option("--config <file>", "Read modules from FILE: `name: --option value...` a line, check's per-target options")
    .option(
      "--allow-target <cidr|host>",
      "Probe only these networks or host names, repeatable (loopback and link-local only when named)",
    )
    .option(
      "--max-concurrent <n>",
      `Probes in flight at most; more are answered 503 (default ${DEFAULT_MAX_CONCURRENT})`,
    )
    .example("  upcat exporter --listen 0.0.0.0:9115 --allow-target 10.0.0.0/8 --config modules.txt")
    .example("  curl 'http://127.0.0.1:9115/probe?target=db:5432&module=tcp'")
    .example("  curl 'http://127.0.0.1:9115/probe?target=redis://cache:6379'")
    .action((options: Record<string, unknown>) => exporter(options, io));
}
