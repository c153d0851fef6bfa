// TCP clients under faults on the path and misbehaving servers: tiny segments, delay, resets, stalls, early closes, no
// route, no name.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { NetError } from "../../src/errors.ts";
import { chargen } from "../../src/protocol/chargen.ts";
import { upper } from "../../src/protocol/upper.ts";
import type { Listener } from "../../src/transport/listener.ts";
import { serveProtocol } from "../../src/transport/serve.ts";
import { tcpRequest } from "../../src/transport/tcp-client.ts";
import { freePort, fullAcceptQueue, requireTool } from "../support/peers.ts";
import type { DirectionFaults } from "../../src/relay/faults.ts";
import { type Relay, startRelay } from "../../src/relay/relay.ts";
import { fromSource, run, type Ran } from "../support/run.ts";
import { re } from "../support/re.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

let server: Listener;
let relays: Relay[] = [];
let listeners: TCPSocketListener<unknown>[] = [];

beforeAll(async () => {
  [server] = (await serveProtocol(upper, ["tcp"], { host: "127.0.0.1", port: 0 })) as [Listener];
});
afterAll(() => server.stop());
afterEach(() => {
  relays.forEach((r) => r.stop());
  listeners.forEach((l) => l.stop(true));
  relays = [];
  listeners = [];
});

/** relay starts the product's relay (`upcat relay`'s domain) in front of `port`, the upper server unless told. */
async function relay(faults: { up?: DirectionFaults; down?: DirectionFaults }, port = server.port): Promise<Relay> {
  const r = await startRelay({
    transport: "tcp",
    listen: { host: "127.0.0.1", port: 0 },
    target: { host: "127.0.0.1", port },
    faults: { up: {}, down: {}, seed: 1, ...faults },
  });
  relays.push(r);
  return r;
}

/** rogue is a server that misbehaves as told; its connections are closed with the test. */
function rogue(handlers: Parameters<typeof Bun.listen>[0]["socket"]): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, allowHalfOpen: true, socket: handlers });
  listeners.push(l as TCPSocketListener<unknown>);
  return l.port;
}

async function ask(port: number, payload: Uint8Array, timeoutMs = 3000) {
  const chunks: Uint8Array[] = [];
  const result = await tcpRequest({ transport: "tcp", host: "127.0.0.1", port }, payload, {
    timeoutMs,
    onData: (c) => chunks.push(c.slice()),
  });
  return { result, reply: Buffer.concat(chunks) };
}

/** expectOneLineError checks the CLI's failure contract: exit 1, one `upcat: ` line on stderr, no stack. */
function expectOneLineError(r: Ran, pattern: RegExp): void {
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/^upcat: [^\n]*\n$/);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\bat \S+:\d+|internal error/);
}

/** timed runs the source CLI and returns how long it took. */
async function timed(args: string[], stdin?: string | Uint8Array): Promise<Ran & { ms: number }> {
  const started = performance.now();
  const r = await run(fromSource, args, { stdin, timeoutMs: 15_000 });
  return { ...r, ms: performance.now() - started };
}

// Characters of one, two, three and four bytes, so tiny segments split them every way.
const MIXED = "abc straße ﬁ 한국어 😀 ";
const MIXED_UPPER = MIXED.toUpperCase();

describe("the path: results stay byte-exact", () => {
  test("tiny segments both ways (--chunk 1 and 3, a millisecond apart): every character uppercased whole", async () => {
    const r = await relay({ up: { chunk: 1 }, down: { chunk: 3 } });
    const message = MIXED.repeat(20);
    const { reply } = await ask(r.port, enc(message));
    expect(dec(reply)).toBe(MIXED_UPPER.repeat(20));
    // The relay really did cut it small: many more writes than a single segment would take.
    expect(r.relay.up.forwarded).toBe(enc(message).length);
  });

  test("tiny segments through `upcat send`: stdout is exactly the uppercased input", async () => {
    const r = await relay({ up: { chunk: 2 }, down: { chunk: 1 } });
    const input = `${MIXED}\n${MIXED}\r\n`;
    const out = await timed(["send", `127.0.0.1:${r.port}`], input);
    expect(out).toMatchObject({ status: 0, stderr: "" });
    expect(out.stdout).toBe(input.toUpperCase());
  });

  test("150 ms each way: the reply waits, intact, and the round trip shows it", async () => {
    const r = await relay({ up: { delay: { ms: 150, jitterMs: 0 } }, down: { delay: { ms: 150, jitterMs: 0 } } });
    const { result, reply } = await ask(r.port, enc("delayed ß"));
    expect(dec(reply)).toBe("DELAYED SS");
    expect(result.rttMs).toBeGreaterThanOrEqual(280);
  });

  test("8 MB through delay and backpressure: byte-exact", async () => {
    const r = await relay({ up: { delay: { ms: 30, jitterMs: 0 } }, down: { delay: { ms: 30, jitterMs: 0 } } });
    const unit = "the quick brown fox straße ";
    const message = unit.repeat(Math.ceil((8 << 20) / unit.length));
    const { reply } = await ask(r.port, enc(message));
    expect(reply.length).toBe(enc(message.toUpperCase()).length);
    expect(dec(reply) === message.toUpperCase()).toBe(true);
  });

  test("chargen through tiny segments and delay: --bytes stops at exactly that many, exit 0", async () => {
    const [talker] = (await serveProtocol(chargen, ["tcp"], { host: "127.0.0.1", port: 0 })) as [Listener];
    try {
      const r = await relay({ down: { chunk: 2, delay: { ms: 20, jitterMs: 0 } } }, talker.port);
      const out = await timed(["send", "--binary", "--protocol", "chargen", "--bytes", "300", `127.0.0.1:${r.port}`]);
      expect({ status: out.status, stderr: out.stderr, bytes: out.stdoutBytes.length }).toEqual({
        status: 0,
        stderr: "",
        bytes: 300,
      });
      expect(chargen.client.verify(out.stdoutBytes, new Uint8Array(0))).toBeUndefined();
    } finally {
      talker.stop();
    }
  });

  test("a delay longer than --timeout between bytes: the read times out, on time", async () => {
    const r = await relay({ down: { delay: { ms: 5000, jitterMs: 0 } } });
    const out = await timed(["send", "--timeout", "400ms", `127.0.0.1:${r.port}`, "hello"]);
    expectOneLineError(
      out,
      new RegExp(`^upcat: read tcp 127\\.0\\.0\\.1:${r.port}: timed out after 400ms \\(try --timeout\\)`),
    );
    expect(out.ms).toBeLessThan(400 + 1500);
  });
});

describe("resets", () => {
  test("reset after part of the reply: exit 1, one line, the part that came is on stdout", async () => {
    const r = await relay({ down: { resetAfter: { bytes: 1000 } } });
    const message = "x".repeat(100_000);
    const out = await timed(["send", `127.0.0.1:${r.port}`, message]);
    expectOneLineError(out, new RegExp(`^upcat: read tcp 127\\.0\\.0\\.1:${r.port}: connection reset by peer\\n$`));
    expect(r.relay.resets).toBe(1);
    expect(out.stdout).toBe("X".repeat(out.stdout.length));
    expect(out.stdout.length).toBeLessThanOrEqual(1000);
  });

  test("reset while the request is still going out: exit 1, one line", async () => {
    const r = await relay({ up: { resetAfter: { bytes: 4096 } } });
    const out = await timed(["send", `127.0.0.1:${r.port}`], "y".repeat(4 << 20));
    expectOneLineError(
      out,
      re(
        /^upcat: (read|write) tcp 127\.0\.0\.1:\d+: /,
        // A write after the reset may also be refused as EPIPE (the kernel's own word for it): closed by peer.
        /(connection reset by peer|connection closed by peer( before the request was sent)?)\n$/,
      ),
    );
    expect(r.relay.resets).toBe(1);
  });

  test("the transport function rejects with a NetError naming ECONNRESET", async () => {
    const r = await relay({ down: { resetAfter: { bytes: 10 } } });
    const err = await ask(r.port, enc("z".repeat(50_000))).catch((e) => e);
    expect(err).toBeInstanceOf(NetError);
    expect(err.code).toBe("ECONNRESET");
  });

  test("a server that resets as soon as data comes: exit 1, one line", async () => {
    const port = rogue({ data: (s) => s.terminate() });
    const out = await timed(["send", `127.0.0.1:${port}`, "hello"]);
    expectOneLineError(out, /connection reset by peer/);
  });
});

describe("stalls and silent servers", () => {
  test("a path that stops reading the client: the write times out, on time", async () => {
    const r = await relay({ up: { stallAfter: { bytes: 1 << 16 } } });
    const out = await timed(["send", "--timeout", "500ms", `127.0.0.1:${r.port}`], "w".repeat(16 << 20));
    expectOneLineError(out, new RegExp(`^upcat: write tcp 127\\.0\\.0\\.1:${r.port}: timed out after 500ms`));
    expect(out.ms).toBeLessThan(500 + 2500);
  });

  test("a path that stops reading the server: the client's read times out, on time", async () => {
    const r = await relay({ down: { stallAfter: { bytes: 1 << 16 } } });
    const out = await timed(["send", "--timeout", "500ms", `127.0.0.1:${r.port}`], "r".repeat(4 << 20));
    expectOneLineError(out, /^upcat: (read|write) tcp [^ ]+: timed out after 500ms/);
    expect(out.ms).toBeLessThan(500 + 2500);
  });

  test("a half-open server (accepts, reads, never answers, never closes): timed out, exit 1", async () => {
    const port = rogue({ data() {}, end() {} });
    const out = await timed(["send", "--timeout", "500ms", `127.0.0.1:${port}`, "anyone?"]);
    expectOneLineError(
      out,
      new RegExp(`^upcat: read tcp 127\\.0\\.0\\.1:${port}: timed out after 500ms \\(try --timeout\\)\\n$`),
    );
    expect(out.ms).toBeLessThan(500 + 1500);
  });

  test(
    "a server whose accept queue is full (SYNs unanswered): the connect times out and upcat exits on " + "time",
    async () => {
      const queue = await fullAcceptQueue();
      try {
        const port = queue.port;
        const out = await timed(["send", "--timeout", "500ms", `127.0.0.1:${port}`, "hello"]);
        expectOneLineError(out, new RegExp(`^upcat: connect tcp 127\\.0\\.0\\.1:${port}: timed out after 500ms`));
        expect(out.ms).toBeLessThan(500 + 1500);
      } finally {
        queue.stop();
      }
    },
  );
});

describe("servers that close early", () => {
  test("closed at once, the request unread: exit 1 'closed by peer without a reply'", async () => {
    const port = rogue({ open: (s) => void s.end(), data() {} });
    const out = await timed(["send", `127.0.0.1:${port}`, "hello"]);
    expectOneLineError(
      out,
      new RegExp(
        "^upcat: (read tcp [^ ]+: (connection closed by peer without a reply|connection reset by peer)" +
          "|write tcp [^ ]+: .*)\\n$",
      ),
    );
    expect(out.stdout).toBe("");
  });

  test("closed while a large request is still going out: exit 1, one line", async () => {
    const port = rogue({ open: (s) => void s.end(), data() {} });
    const out = await timed(["send", `127.0.0.1:${port}`], "q".repeat(8 << 20));
    expectOneLineError(
      out,
      re(
        /^upcat: (write|read) tcp [^ ]+: /,
        /(connection closed by peer before the request was sent|connection reset by peer|connection closed by peer)\n$/,
      ),
    );
  });

  test("part of a reply, then a clean close before the client is done: exit 1", async () => {
    // The server answers the first chunk, closes its side and reads no more: the client cannot have sent it all.
    const port = rogue({
      data(s) {
        s.pause();
        s.write("PARTIAL");
        s.shutdown();
      },
    });
    const out = await timed(["send", `127.0.0.1:${port}`], "p".repeat(32 << 20));
    expectOneLineError(out, /^upcat: (write|read) tcp [^ ]+: /);
    expect(out.stdout).toBe("PARTIAL");
  });

  test("an empty request to a server that closes is still fine: nothing was asked", async () => {
    const port = rogue({ data() {}, end: (s) => void s.end() });
    const { result, reply } = await ask(port, new Uint8Array(0));
    expect(result.bytes).toBe(0);
    expect(reply.length).toBe(0);
  });
});

describe("no server, no route, no name", () => {
  test("connection refused: at once, exit 1", async () => {
    const port = await freePort();
    const out = await timed(["send", "--timeout", "5s", `127.0.0.1:${port}`, "hello"]);
    expectOneLineError(
      out,
      new RegExp(
        `^upcat: connect tcp 127\\.0\\.0\\.1:${port}: connection refused \\(is a server running there\\?\\)\\n$`,
      ),
    );
    expect(out.ms).toBeLessThan(3000);
  });

  // A network namespace with no interfaces up: DNS cannot leave it, and no route exists.
  const isolated = (args: string[]) => {
    requireTool("unshare");
    return runIsolated(args);
  };

  test("an unknown host in a network with no DNS: exit 1, one line naming the lookup", async () => {
    const out = await isolated(["send", "--timeout", "1s", "no-such-host.example:12000", "hello"]);
    expectOneLineError(
      out,
      /^upcat: resolve tcp no-such-host\.example: .* \(check the name, or use an IP address\)\n$/,
    );
  });

  test.each([
    ["udp", "udp://10.94.0.5:12000", /^upcat: read udp 10\.94\.0\.5:12000: host unreachable\n$/],
    // Bun 1.4.5 reports every failed connect as ECONNREFUSED, an ICMP host unreachable included.
    ["tcp", "10.94.0.5:12000", /^upcat: connect tcp 10\.94\.0\.5:12000: (host unreachable|connection refused)/],
  ])(
    "ICMP host unreachable from a router in another namespace (%s): exit 1, one line, at once",
    async (_t, target, pattern) => {
      for (const tool of ["unshare", "nsenter", "ip"]) requireTool(tool);
      const out = await runIsolated(["send", "--timeout", "5s", "--retries", "3", target as string, "hello"], true);
      expectOneLineError(out, pattern as RegExp);
      expect(out.ms).toBeLessThan(4000);
    },
  );

  test("no route to the host (udp): exit 1, one line, network unreachable", async () => {
    const out = await isolated(["send", "--timeout", "1s", "udp://10.91.0.1:12000", "hello"]);
    expectOneLineError(out, /^upcat: connect udp 10\.91\.0\.1:12000: network unreachable\n$/);
  });

  test("no route to the host (tcp): exit 1, one line, at once", async () => {
    const out = await isolated(["send", "--timeout", "5s", "10.91.0.1:12000", "hello"]);
    // Bun 1.4.5 reports every failed connect as ECONNREFUSED, ENETUNREACH included (node:net in Bun too).
    expectOneLineError(out, /^upcat: connect tcp 10\.91\.0\.1:12000: (network unreachable|connection refused)/);
    expect(out.ms).toBeLessThan(3000);
  });
});

/**
 * ROUTER builds, inside a user and network namespace of its own, a second namespace joined by a veth
 * pair that routes 10.94.0.0/24 to nowhere: it answers each packet for it with an ICMP host unreachable.
 * Then it runs "$@" on the near side.
 */
const ROUTER = `set -e
ip link set lo up
ip link add up0 type veth peer name up1
unshare -n sleep 15 & router=$!
sleep 0.2
ip link set up1 netns $router
ip addr add 10.93.0.1/30 dev up0
ip link set up0 up
ip route add 10.94.0.0/24 via 10.93.0.2
nsenter -t $router -n sh -c 'ip link set lo up; ip addr add 10.93.0.2/30 dev up1; ip link set up1 up
echo 1 > /proc/sys/net/ipv4/ip_forward; ip route add unreachable 10.94.0.0/24'
set +e
"$@"
status=$?
kill $router
exit $status`;

/** runIsolated runs the source CLI in a new network namespace whose only interface (lo) is down, or behind ROUTER. */
async function runIsolated(args: string[], routed = false): Promise<Ran & { ms: number }> {
  const started = performance.now();
  const inside = routed ? ["sh", "-c", ROUTER, "router", ...fromSource.argv, ...args] : [...fromSource.argv, ...args];
  const proc = Bun.spawn(["unshare", "--map-root-user", "--net", "--", ...inside], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...fromSource.env, NO_COLOR: "1" },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
  const [stdoutBytes, stderr, status] = await Promise.all([
    new Response(proc.stdout).bytes(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { status, stdout: dec(stdoutBytes), stderr, stdoutBytes, ms: performance.now() - started };
}
