// A soak of the compiled server: 10 000 TCP connections in waves and 1 000 000 datagrams from 64 ports; then it still
// answers, its memory is back near idle, and no descriptor leaked.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { compiled } from "../support/binary.ts";
import { run, startServer, type Command, type Server } from "../support/run.ts";
import { figure } from "../support/figures.ts";

const WAVES = 10;
const PER_WAVE = 1000;
const DATAGRAMS = 1_000_000;
const SOCKETS = 64;
/** BURST is how many datagrams go out (over all sockets) before the sender waits for replies to catch up. */
const BURST = 256;

let cmd: Command;
let server: Server;
let idle: { rss: number; fds: number };
/** The two ports can differ: when the port UDP got is taken for TCP, TCP binds another. */
let tcpPort: number;
let udpPort: number;

const MB = 1 << 20;
const rss = async (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(await Bun.file(`/proc/${pid}/status`).text())![1]) * 1024;
const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

beforeAll(async () => {
  cmd = await compiled();
  // A soak is a load test from one address: it lifts the per-address bounds a public server keeps
  // (--max-per-address, --udp-reply-rate), as a load test of a real deployment would; tests/abuse holds them.
  server = await startServer(cmd, [
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--max-per-address",
    "0",
    "--udp-reply-rate",
    "0",
  ]);
  udpPort = Number(/udp \S*:(\d+)/.exec(server.ready)![1]);
  tcpPort = Number(/tcp \S*:(\d+)/.exec(server.ready)![1]);
  // A settle window, not a condition: the idle baseline is read once start-up is done, and nothing signals that.
  await Bun.sleep(300);
  idle = { rss: await rss(server.proc.pid), fds: fds(server.proc.pid) };
  figure(`soak: server idle RSS ${(idle.rss / MB).toFixed(1)} MB, ${idle.fds} fds`);
}, 120_000);
afterAll(() => server?.stop());

/** converse opens one connection, sends, half-closes and resolves with the whole reply, or the error as text. */
function converse(port: number, message: string): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    const timer = setTimeout(() => resolve("timed out"), 20_000);
    const done = (text: string) => {
      clearTimeout(timer);
      resolve(text);
    };
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      allowHalfOpen: true,
      socket: {
        open(s) {
          s.write(message);
          s.shutdown();
        },
        data: (_s, d) => void chunks.push(d.slice()),
        close: (_s, err) => done(err ? `error ${String(err)}` : new TextDecoder().decode(Buffer.concat(chunks))),
        error: (_s, err) => done(`error ${String(err)}`),
      },
    }).catch((err) => done(`connect ${String(err)}`));
  });
}

test("10 000 TCP connections in 10 waves of 1000 at once: every one answered", async () => {
  const started = performance.now();
  let ok = 0;
  const failures = new Map<string, number>();
  for (let wave = 0; wave < WAVES; wave++) {
    const replies = await Promise.all(
      Array.from({ length: PER_WAVE }, (_, k) => converse(tcpPort, `wave ${wave} connection ${k} straße`)),
    );
    replies.forEach((reply, k) => {
      if (reply === `WAVE ${wave} CONNECTION ${k} STRASSE`) ok++;
      else failures.set(reply.slice(0, 80), (failures.get(reply.slice(0, 80)) ?? 0) + 1);
    });
  }
  const seconds = (performance.now() - started) / 1000;
  figure(
    `soak: ${ok}/${WAVES * PER_WAVE} TCP connections answered in ${seconds.toFixed(1)} s ` +
      `(${Math.round(ok / seconds)}/s)${failures.size ? `; failures: ${JSON.stringify([...failures])}` : ""}`,
  );
  expect(failures.size === 0 ? [] : [...failures]).toEqual([]);
  expect(ok).toBe(WAVES * PER_WAVE);
}, 60_000);

test("1 000 000 datagrams from 64 source ports: the server answers the large majority", async () => {
  type Sock = Bun.udp.Socket<"buffer">;
  let replies = 0;
  let wrong = 0;
  const expected: Uint8Array[] = [];
  const sockets: Sock[] = [];
  for (let k = 0; k < SOCKETS; k++) {
    const want = new TextEncoder().encode(`SOAK DATAGRAM FROM SOCKET ${k}`);
    expected.push(want);
    sockets.push(
      await Bun.udpSocket({
        hostname: "127.0.0.1",
        port: 0,
        socket: {
          data(_s, bytes) {
            replies++;
            if (!Buffer.from(bytes).equals(want)) wrong++;
          },
          error() {},
        },
      }),
    );
  }
  const payloads = expected.map((_, k) => new TextEncoder().encode(`soak datagram from socket ${k}`));
  const perSocket = BURST / SOCKETS;
  // One sendMany call per socket per burst: [data, port, address, data, port, address, ...].
  const batches = payloads.map((p) =>
    Array.from({ length: perSocket }, (): (Uint8Array | number | string)[] => [p, udpPort, "127.0.0.1"]).flat(),
  );
  const started = performance.now();
  // Typically 6 s; the bound is for a slow machine, and a run that hits it fails on the count below.
  const deadline = started + 40_000;
  let sent = 0;
  while (sent < DATAGRAMS && performance.now() < deadline) {
    const before = replies;
    const sentBefore = sent;
    for (let k = 0; k < SOCKETS && sent < DATAGRAMS; k++) {
      const n = Math.min(perSocket, DATAGRAMS - sent);
      const batch = n === perSocket ? batches[k]! : batches[k]!.slice(0, n * 3);
      try {
        sent += sockets[k]!.sendMany(batch);
      } catch {
        // A full socket buffer (ENOBUFS) drops the batch; the next round goes on.
      }
    }
    const burstSent = sent - sentBefore;
    // Let the replies to this burst come before the next (what has not come in 20 ms counts as lost):
    // the server's socket buffer holds a few hundred small datagrams, and a flood past it only measures drops.
    const waitUntil = performance.now() + 20;
    while (replies - before < burstSent * 0.95 && performance.now() < waitUntil) await Bun.sleep(0);
  }
  const sendSeconds = (performance.now() - started) / 1000;
  const settle = performance.now() + 1000;
  while (replies < sent && performance.now() < settle) await Bun.sleep(20);
  sockets.forEach((s) => s.close());
  figure(
    `soak: ${sent} datagrams sent from ${SOCKETS} ports in ${sendSeconds.toFixed(1)} s ` +
      `(${Math.round(sent / sendSeconds)}/s), ` +
      `${replies} replies (${((100 * replies) / Math.max(1, sent)).toFixed(2)}%), ${wrong} wrong`,
  );
  expect(sent).toBe(DATAGRAMS);
  expect(wrong).toBe(0);
  expect(replies).toBeGreaterThan(DATAGRAMS * 0.9);
}, 60_000);

test("afterwards: it still answers over TCP and UDP, its RSS is back near idle, no descriptor leaked", async () => {
  const pid = server.proc.pid;
  const tcp = await run(cmd, ["send", `127.0.0.1:${tcpPort}`, "still there?"]);
  expect(tcp).toMatchObject({ status: 0, stdout: "STILL THERE?\n", stderr: "" });
  const udp = await run(cmd, ["send", `udp://127.0.0.1:${udpPort}`, "and over udp?"]);
  expect(udp).toMatchObject({ status: 0, stdout: "AND OVER UDP?\n", stderr: "" });

  // Give the allocator and the GC a moment, and take a few samples: the lowest counts.
  let after = Infinity;
  let afterFds = Infinity;
  const samples: number[] = [];
  for (let k = 0; k < 12; k++) {
    await Bun.sleep(250);
    const now = await rss(pid);
    samples.push(Math.round(now / MB));
    after = Math.min(after, now);
    afterFds = Math.min(afterFds, fds(pid));
    if (after < idle.rss + 60 * MB && afterFds <= idle.fds + 4) break;
  }
  const peak = Number(/VmHWM:\s+(\d+) kB/.exec(await Bun.file(`/proc/${pid}/status`).text())![1]) * 1024;
  figure(
    `soak: server RSS idle ${(idle.rss / MB).toFixed(1)} MB, peak ${(peak / MB).toFixed(1)} MB, ` +
      `after ${(after / MB).toFixed(1)} MB (samples ${samples.join(", ")} MB); ` +
      `fds idle ${idle.fds}, after ${afterFds}`,
  );
  expect(after).toBeLessThan(idle.rss + 60 * MB);
  expect(afterFds).toBeLessThanOrEqual(idle.fds + 4);
}, 30_000);
