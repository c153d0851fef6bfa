// serve's amplification bounds on `upcat relay` over UDP (issues 17 and 19): a python3 target that answers each 1-byte
// datagram with 1000 bytes (qotd, chargen) behind the relay; what comes back to the clients is what --udp-rate and
// --udp-excess allow, as serve's replies larger than their request, and replies no larger than the request go freely.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { requireTool, startPeer } from "../support/peers.ts";
import { fromSource, run } from "../support/run.ts";
import { startRelayProcess } from "./process.ts";

/** REPLY is how many bytes the target sends back for a 1-byte datagram; any other datagram comes back as it is. */
const REPLY = 1000;
/** EXCESS is what each such reply adds over its request, as --udp-excess counts it. */
const EXCESS = REPLY - 1;
/** BURST is how many datagrams the clients send between pauses. */
const BURST = 20;

const AMPLIFIER = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
s.settimeout(60)
while True:
    try:
        data, addr = s.recvfrom(2048)
    except socket.timeout:
        break
    s.sendto(b"q" * ${REPLY} if len(data) == 1 else data, addr)
`;

let target: Subprocess;
let targetPort: number;

beforeAll(async () => {
  const peer = await startPeer([requireTool("python3"), "-c", AMPLIFIER], /^(\d+)\n/);
  target = peer.proc;
  targetPort = Number(peer.match[1]);
});
afterAll(() => target?.kill("SIGKILL"));

/** Sent is what the clients of one run got back, and how long their sending took (seconds). */
interface Sent {
  got: number;
  bytes: number;
  took: number;
  /** stopped is the relay's last stats record (--log json): datagrams and bytes, and each bound's refusals. */
  stopped: Record<string, number>;
}

/**
 * through starts `upcat relay` before the target with `args`, sends `n` datagrams of `size` bytes from each of the
 * `hosts` (a port of its own each), in bursts of BURST, counts what comes back until 500 ms of quiet, and stops the
 * relay.
 */
async function through(args: string[], hosts: string[], n: number, size = 1): Promise<Sent> {
  const r = await startRelayProcess(fromSource, [
    "udp://127.0.0.1:0",
    `udp://127.0.0.1:${targetPort}`,
    "--log",
    "json",
    ...args,
  ]);
  let got = 0;
  let bytes = 0;
  let last = performance.now();
  const clients = await Promise.all(
    hosts.map((hostname) =>
      Bun.udpSocket({
        hostname,
        port: 0,
        socket: {
          data(_s, message) {
            got++;
            bytes += message.length;
            last = performance.now();
          },
          error() {},
        },
      }),
    ),
  );
  try {
    const datagram = new Uint8Array(size).fill(0x2e);
    const started = performance.now();
    // In bursts of at most BURST: the relay's socket queues about 256 small datagrams, and a relay that loses its
    // core for a moment must not find some dropped by the kernel before it could count them.
    let sent = 0;
    for (let k = 0; k < n; k++) {
      for (const c of clients) {
        c.send(datagram, r.port, "127.0.0.1");
        if (++sent % BURST === 0) await Bun.sleep(5);
      }
    }
    const took = (performance.now() - started) / 1000;
    last = performance.now();
    // Until no reply has come for 500 ms: the quiet window is the measure, a rationed reply never comes.
    while (performance.now() - last < 500) await Bun.sleep(50);
    const { status, rest } = await r.stop();
    expect(status).toBe(0);
    const lines = rest
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    return { got, bytes, took, stopped: lines.find((e) => e.event === "stopped") };
  } finally {
    for (const c of clients) c.close();
    r.proc.kill("SIGKILL");
  }
}

describe("--udp-rate: datagrams sent back larger than the client's last one, per client prefix a second", () => {
  test("5: one client that sends 100 one-byte datagrams gets a second's worth (5), then 5 a second", async () => {
    const s = await through(["--udp-rate", "5", "--udp-excess", "1mb"], ["127.0.0.1"], 100);
    expect(s.got).toBeGreaterThanOrEqual(5);
    expect(s.got).toBeLessThanOrEqual(5 + Math.ceil(5 * s.took) + 1);
    expect(s.bytes).toBe(s.got * REPLY);
    expect(s.stopped).toMatchObject({
      datagrams_in: 100,
      datagrams_out: s.got,
      bytes_out: s.got * REPLY,
      rate_limited: 100 - s.got,
      reply_limited: 0,
      excess_limited: 0,
    });
  });

  test("the default is serve's (10 a second): 100 one-byte datagrams get about 10 back", async () => {
    const s = await through([], ["127.0.0.1"], 100);
    expect(s.got).toBeGreaterThanOrEqual(10);
    expect(s.got).toBeLessThanOrEqual(10 + Math.ceil(10 * s.took) + 1);
    expect(s.stopped).toMatchObject({ datagrams_out: s.got, rate_limited: 100 - s.got });
  });

  test("0 (with --udp-excess 0) is none, as in serve: not one of 50 amplified replies comes back", async () => {
    const s = await through(["--udp-rate", "0", "--udp-excess", "0"], ["127.0.0.1"], 50);
    expect(s.got).toBe(0);
    expect(s.stopped).toMatchObject({ datagrams_in: 50, datagrams_out: 0, rate_limited: 50 });
  });
});

describe("--udp-excess: bytes a second by which replies outgrow requests, all clients together", () => {
  test(
    "10k: five client /24s, two ports each, 30 datagrams a port, get back no more than 10k and 10k a second of " +
      "excess between them, however generous --udp-rate is",
    async () => {
      const hosts = ["127.0.0.1", "127.0.1.1", "127.0.2.1", "127.0.3.1", "127.0.4.1"].flatMap((h) => [h, h]);
      const s = await through(["--udp-rate", "1000", "--udp-excess", "10k"], hosts, 30);
      const budget = 10 * 1024;
      expect(s.got).toBeGreaterThanOrEqual(Math.floor(budget / EXCESS));
      expect(s.got * EXCESS).toBeLessThanOrEqual(budget + Math.ceil(budget * s.took) + EXCESS);
      expect(s.stopped).toMatchObject({
        datagrams_in: 300,
        datagrams_out: s.got,
        rate_limited: 0,
        excess_limited: 300 - s.got,
      });
    },
  );
});

describe("replies no larger than their request", () => {
  test("with the defaults, 100 echoed datagrams from each of three client ports all come back", async () => {
    const s = await through([], ["127.0.0.1", "127.0.0.1", "127.0.0.1"], 100, 64);
    expect(s.got).toBe(300);
    expect(s.bytes).toBe(300 * 64);
    expect(s.stopped).toMatchObject({ datagrams_out: 300, rate_limited: 0, reply_limited: 0, excess_limited: 0 });
  });
});

describe("bad values: exit 2 with one line, before any socket opens", () => {
  test.each([
    [["--udp-rate", "1.5"], /^upcat: invalid --udp-rate: "1\.5"/],
    [["--udp-rate", "-1"], /^upcat: invalid --udp-rate: "-1"/],
    [["--udp-rate", "1", "--udp-rate", "2"], /^upcat: --udp-rate can be given once$/m],
    [["--udp-excess", "lots"], /^upcat: invalid size for --udp-excess: "lots"/],
    [["--udp-excess", "1k", "--udp-excess", "2k"], /^upcat: --udp-excess can be given once$/m],
  ])("%p", async (args, message) => {
    const r = await run(fromSource, ["relay", "udp://127.0.0.1:0", "udp://127.0.0.1:9", ...args], {
      timeoutMs: 10_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^upcat: [^\n]*\n$/);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe("");
  });

  test("relay --help shows both with serve's defaults", async () => {
    const r = await run(fromSource, ["relay", "--help"], { timeoutMs: 10_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--udp-rate <n> .*\(default: 10\)/s);
    expect(r.stdout).toMatch(/--udp-excess <size> .*\(default: 64k\)/s);
  });
});
