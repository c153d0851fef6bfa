// Issue 4's figure: wall time to check 1000 loopback ports (every other one open) with upcat, beside
// a shell loop of `nc -z -w 1` and `nc -z HOST LOW-HIGH`, as medians of alternating runs.
// bun scripts/check-vs-nc.ts [--rounds N] [--json]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listenPortBlock } from "./bench/port-block.ts";
import { hostTarget } from "./targets.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const PORTS = 1000;
const argv = process.argv.slice(2);
const rounds = Number(argv[argv.indexOf("--rounds") + 1] || 5) || 5;
const asJson = argv.includes("--json");
const log = (s: string) => process.stderr.write(`${s}\n`);

const nc = Bun.which("nc");
if (!nc) throw new Error("nc is not installed (apt-get install netcat-openbsd)");
// The binary of this checkout, built with the release flags into a folder of its own that goes when the script
// ends, so that a run leaves nothing behind and never measures a stale build.
const work = mkdtempSync(join(tmpdir(), "upcat-check-vs-nc-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
process.on("SIGINT", () => process.exit(130));
log("building the release binary for this host ...");
const built = Bun.spawnSync([process.execPath, join(ROOT, "scripts/build.ts"), "--target", "host", "--outdir", work], {
  stdout: "ignore",
  stderr: "inherit",
});
if (built.exitCode !== 0) throw new Error("build failed");
const binary = join(work, hostTarget().asset);

// A block of 1000 ports whose odd members can all be bound: 500 open, 500 closed.
const block = listenPortBlock(PORTS);
if (!block) throw new Error("no block of 1000 ports with 500 free to bind");
const { low, high } = block;

// Servers here run in this process; the checkers run as child processes, as a runbook runs them.
interface Contender {
  name: string;
  argv: string[];
  verify(out: string, status: number): void;
}
const contenders: Contender[] = [
  {
    name: "upcat check HOST:LOW-HIGH (compiled)",
    argv: [binary, "check", "--json", `127.0.0.1:${low}-${high}`],
    verify(out, status) {
      const open = out
        .trimEnd()
        .split("\n")
        .filter((l) => JSON.parse(l).ok).length;
      if (open !== PORTS / 2 || status !== 1) throw new Error(`upcat saw ${open} open, exit ${status}`);
    },
  },
  {
    name: "upcat check from source (bun src/main.ts)",
    argv: [process.execPath, join(ROOT, "src/main.ts"), "check", "--quiet", `127.0.0.1:${low}-${high}`],
    verify: (_out, status) => {
      if (status !== 1) throw new Error(`exit ${status}`);
    },
  },
  {
    name: "nc -z HOST LOW-HIGH",
    argv: [nc, "-z", "-v", "127.0.0.1", `${low}-${high}`],
    verify: () => {},
  },
  {
    name: "for p in LOW..HIGH; do nc -z -w 1 HOST $p; done",
    argv: [
      "/bin/sh",
      "-c",
      `open=0; p=${low}; while [ $p -le ${high} ]; do nc -z -w 1 127.0.0.1 $p && open=$((open+1)); p=$((p+1)); ` +
        `done; echo $open`,
    ],
    verify(out) {
      if (Number(out.trim()) !== PORTS / 2) throw new Error(`the nc loop saw ${out.trim()} open`);
    },
  },
];

async function timeOnce(c: Contender): Promise<number> {
  const t0 = performance.now();
  const p = Bun.spawn(c.argv, { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), 120_000);
  const [out, , status] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  const ms = performance.now() - t0;
  c.verify(out, status);
  return ms;
}

const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
for (let round = 1; round <= rounds; round++) {
  for (const c of round % 2 ? contenders : [...contenders].reverse()) times.get(c.name)!.push(await timeOnce(c));
  log(`round ${round}/${rounds} done`);
}
block.stop();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(times.get(contenders[0]!.name)!);
const rows = contenders.map((c) => ({
  name: c.name,
  median_ms: Math.round(median(times.get(c.name)!) * 10) / 10,
  ratio_to_upcat: Math.round((median(times.get(c.name)!) / base) * 100) / 100,
}));
if (asJson) for (const r of rows) console.log(JSON.stringify({ ports: PORTS, open: PORTS / 2, rounds, ...r }));
else {
  console.log(`${PORTS} loopback ports, ${PORTS / 2} open, medians of ${rounds} alternating runs\n`);
  console.log("| checker | median ms | × upcat |\n| --- | --- | --- |");
  for (const r of rows) console.log(`| ${r.name} | ${r.median_ms} | ${r.ratio_to_upcat} |`);
}
