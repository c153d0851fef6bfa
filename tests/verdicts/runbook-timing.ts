// Times a seven-check runbook (issue 20, item 6): upcat in one call, upcat one call a check, and the reference tools.
// Run: bun tests/verdicts/runbook-timing.ts [ROUNDS]
import { join } from "node:path";
import { nativeBinary } from "../support/binary.ts";
import { runbookLines, startFleet, type Fleet } from "./fleet.ts";
import { lineWords } from "../../src/check/check-line.ts";

const PLUGINS = "/usr/lib/nagios/plugins";
const rounds = Number(process.argv[2] ?? 11);
const CRLF = "\r\n";

/**
 * reference is the same seven checks as monitoring plugins: check_tcp for the line protocols, check_ssh, check_http.
 */
function reference(f: Fleet): string[][] {
  const tcp = (port: number, ...args: string[]) => [
    `${PLUGINS}/check_tcp`,
    "-H",
    "127.0.0.1",
    "-p",
    String(port),
    ...args,
  ];
  return [
    tcp(f.redis, "-s", `PING${CRLF}`, "-e", "+PONG"),
    tcp(f.redis, "-s", `INFO replication${CRLF}`, "-e", "role:master"),
    [`${PLUGINS}/check_ssh`, "-H", "127.0.0.1", "-p", String(f.sshd)],
    tcp(f.memcached, "-s", `version${CRLF}`, "-e", "VERSION 1."),
    [`${PLUGINS}/check_http`, "-H", "127.0.0.1", "-p", String(f.http), "-e", "HTTP/1.1 200"],
    [`${PLUGINS}/check_http`, "-H", "127.0.0.1", "-p", String(f.https), "-S", "-C", "14,7"],
    [`${PLUGINS}/check_http`, "-H", "127.0.0.1", "-p", String(f.https), "-S", "-e", "HTTP/1.1 200"],
  ];
}

async function exec(argv: string[]): Promise<number> {
  const p = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  return p.exited;
}

async function timed(what: () => Promise<number[]>): Promise<number> {
  const t = performance.now();
  const statuses = await what();
  if (statuses.some((s) => s !== 0)) throw new Error(`a check failed: ${statuses.join(" ")}`);
  return performance.now() - t;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const upcat = await nativeBinary();
const fleet = await startFleet();
try {
  const file = join(fleet.dir, "runbook.txt");
  const lines = runbookLines(fleet);
  await Bun.write(file, `${lines.join("\n")}\n`);
  const ref = reference(fleet);
  const ways: Record<string, () => Promise<number[]>> = {
    "upcat check --file runbook.txt (one call)": async () => [await exec([upcat, "check", "--quiet", "--file", file])],
    "upcat check, one call a check, in sequence": async () => {
      const out = [];
      for (const line of lines) out.push(await exec([upcat, "check", "--quiet", ...lineWords(line)]));
      return out;
    },
    "check_tcp/check_ssh/check_http, in sequence": async () => {
      const out = [];
      for (const argv of ref) out.push(await exec(argv));
      return out;
    },
    "check_tcp/check_ssh/check_http, all at once": () => Promise.all(ref.map(exec)),
  };
  for (const [name, way] of Object.entries(ways)) {
    await timed(way); // warm the page cache
    const times = [];
    for (let i = 0; i < rounds; i++) times.push(await timed(way));
    console.log(
      `${median(times).toFixed(1).padStart(7)} ms  ${name}  (median of ${rounds}, min ` +
        `${Math.min(...times).toFixed(1)})`,
    );
  }
} finally {
  fleet.stop();
}
