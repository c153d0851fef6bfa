// upcat check beside the tools ops engineers use today, on the same loopback targets: nc -z, check_tcp, check_udp.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort, requireTool, runPeer, startPeer, waitForListening } from "../support/peers.ts";
import { fromSource, run, startServer, type Server } from "../support/run.ts";

const PLUGINS = "/usr/lib/nagios/plugins";
const plugin = (name: string) => {
  const path = `${PLUGINS}/${name}`;
  if (!Bun.file(path).size) throw new Error(`${path} is missing: install monitoring-plugins-basic (.ci/run does)`);
  return path;
};

let upper: Server;
let ncPort: number;
let ncProc: { kill(): void };
let closedA: number;
let closedB: number;
let silent: number;
let banner: number;
let udpClosed: number;
const stops: (() => void)[] = [];

beforeAll(async () => {
  upper = await startServer(fromSource, ["--port", "0", "--host", "::"]);
  ncPort = await freePort();
  const nc = Bun.spawn([requireTool("nc"), "-lk", "127.0.0.1", String(ncPort)], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "ignore",
  });
  ncProc = nc;
  await waitForListening("tcp", ncPort);
  [closedA, closedB, udpClosed] = [await freePort(), await freePort(), await freePort("udp")];
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const b = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: { open: (sock) => void sock.write("220 mail.example ESMTP ready\r\n"), data() {} },
  });
  [silent, banner] = [s.port, b.port];
  stops.push(
    () => s.stop(true),
    () => b.stop(true),
  );
});
afterAll(async () => {
  ncProc.kill();
  stops.forEach((stop) => stop());
  await upper.stop();
});

/** upcat runs `upcat check ARGS` from source. */
const upcat = (args: string[]) => run(fromSource, ["check", ...args]);

describe("against nc -z", () => {
  test("each TCP target: upcat passes exactly where nc -z -w 1 succeeds", async () => {
    const targets: [string, number][] = [
      ["127.0.0.1", upper.port],
      ["::1", upper.port],
      ["127.0.0.1", ncPort],
      ["127.0.0.1", closedA],
      ["127.0.0.1", closedB],
      ["127.0.0.1", silent],
    ];
    const nc = await Promise.all(targets.map(([h, p]) => runPeer([requireTool("nc"), "-z", "-w", "1", h, String(p)])));
    const specs = targets.map(([h, p]) => (h.includes(":") ? `[${h}]:${p}` : `${h}:${p}`));
    const r = await upcat(["--json", "--timeout", "1s", ...specs]);
    const ok = r.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l).ok);
    expect(ok).toEqual(nc.map((n) => n.status === 0));
    expect(ok).toEqual([true, true, true, false, false, true]);
    expect(r.status).toBe(1);
  });

  test("a range: nc -z succeeds if any port is open, upcat fails unless all are; both agree port by port", async () => {
    // A run of four ports, two bound (every other one).
    let low = 0;
    const bound: { stop(closeActive?: boolean): void }[] = [];
    for (let tries = 0; tries < 50 && bound.length < 2; tries++) {
      bound.splice(0).forEach((l) => l.stop(true));
      low = 30000 + Math.floor(Math.random() * 20000);
      try {
        for (const p of [low + 1, low + 3])
          bound.push(Bun.listen({ hostname: "127.0.0.1", port: p, socket: { data() {} } }));
      } catch {}
    }
    try {
      const range = `${low}-${low + 3}`;
      const nc = await runPeer([requireTool("nc"), "-zv", "-w", "1", "127.0.0.1", range]);
      expect(nc.status).toBe(0);
      const ncOpen = [...nc.stderr.matchAll(/Connection to 127\.0\.0\.1 (\d+) port .* succeeded!/g)].map((m) =>
        Number(m[1]),
      );
      const r = await upcat(["--json", `127.0.0.1:${range}`]);
      expect(r.status).toBe(1);
      const upOpen = r.stdout
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l))
        .filter((o) => o.ok)
        .map((o) => o.port);
      expect(upOpen).toEqual(ncOpen);
      expect(upOpen).toEqual([low + 1, low + 3]);
    } finally {
      bound.forEach((l) => l.stop(true));
    }
  });
});

describe("against check_tcp", () => {
  /** both runs check_tcp ARGS and upcat check --nagios on the same target and returns both. */
  async function both(checkTcp: string[], upcatArgs: string[]) {
    const [ref, ours] = await Promise.all([
      runPeer([plugin("check_tcp"), ...checkTcp]),
      upcat(["--nagios", ...upcatArgs]),
    ]);
    return {
      ref,
      ours,
      word: (out: string) => /^\w+ (OK|WARNING|CRITICAL|UNKNOWN)\b|^(CRITICAL)\b/.exec(out)?.slice(1).find(Boolean),
    };
  }

  test.each([
    ["upcat's server", () => ["127.0.0.1", upper.port], "OK"],
    ["nc -lk", () => ["127.0.0.1", ncPort], "OK"],
    ["IPv6 loopback", () => ["::1", upper.port], "OK"],
    ["a closed port", () => ["127.0.0.1", closedA], "CRITICAL"],
    ["a server that never answers (connect only)", () => ["127.0.0.1", silent], "OK"],
  ] as const)("%s: the same status and exit code", async (_name, where, want) => {
    const [host, port] = where();
    const target = String(host).includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    const { ref, ours, word } = await both(["-H", String(host), "-p", String(port), "-t", "2"], [target]);
    expect(word(ours.stdout)).toBe(want);
    // check_tcp says a refusal without a status word ("connect to address ... Connection refused"): its exit status
    // tells.
    expect(ref.status).toBe(want === "OK" ? 0 : 2);
    expect(ours.status).toBe(ref.status!);
  });

  test("a banner with the expected greeting (-e 220): OK from both, the greeting shown", async () => {
    const { ref, ours } = await both(
      ["-H", "127.0.0.1", "-p", String(banner), "-e", "220"],
      [`127.0.0.1:${banner}`, "--expect", "220"],
    );
    expect([ref.status, ours.status]).toEqual([0, 0]);
    expect(ref.stdout).toContain("[220 mail.example ESMTP ready]");
    expect(ours.stdout).toContain("[220 mail.example ESMTP ready]");
  });

  test("a banner that is not the expected one (-e 250): WARNING from both", async () => {
    // check_tcp gives up waiting for more of a reply after about 2s; its socket timeout (-t) must be longer than that.
    const { ref, ours } = await both(
      ["-H", "127.0.0.1", "-p", String(banner), "-e", "250", "-t", "5"],
      [`127.0.0.1:${banner}`, "--expect", "250", "--timeout", "500ms"],
    );
    expect([ref.status, ours.status]).toEqual([1, 1]);
    expect(ref.stdout).toStartWith("TCP WARNING - Unexpected response");
    expect(ours.stdout).toStartWith("TCP WARNING - ");
  });

  test("send and expect (-s/-e) against the upper server: OK from both", async () => {
    const { ref, ours } = await both(
      ["-H", "127.0.0.1", "-p", String(upper.port), "-s", "ping\n", "-e", "PING"],
      [`127.0.0.1:${upper.port}`, "--send", "ping\\n", "--expect", "PING"],
    );
    expect([ref.status, ours.status]).toEqual([0, 0]);
  });

  test("an expected reply that never comes: CRITICAL from both", async () => {
    const { ref, ours } = await both(
      ["-H", "127.0.0.1", "-p", String(silent), "-e", "220", "-t", "1"],
      [`127.0.0.1:${silent}`, "--expect", "220", "--timeout", "1s"],
    );
    expect([ref.status, ours.status]).toEqual([2, 2]);
  });

  test("latency thresholds: a greeting 60ms late is WARNING over a 20ms -w from both, OK under a 1s one", async () => {
    const late = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { open: (sock) => void setTimeout(() => sock.write("220 late\r\n"), 60), data() {} },
    });
    try {
      const slow = await both(
        ["-H", "127.0.0.1", "-p", String(late.port), "-e", "220", "-w", "0.02", "-c", "5"],
        [`127.0.0.1:${late.port}`, "--expect", "220", "--warning", "20ms", "--critical", "5s"],
      );
      expect([slow.ref.status, slow.ours.status]).toEqual([1, 1]);
      expect(slow.ours.stdout).toMatch(/^TCP WARNING - 0\.0[6-9]\d second response time/);
      const fine = await both(
        ["-H", "127.0.0.1", "-p", String(late.port), "-e", "220", "-w", "1", "-c", "5"],
        [`127.0.0.1:${late.port}`, "--expect", "220", "--warning", "1s", "--critical", "5s"],
      );
      expect([fine.ref.status, fine.ours.status]).toEqual([0, 0]);
    } finally {
      late.stop(true);
    }
  });
});

describe("against check_tcp: severities (issue 20, item 3)", () => {
  /** grade runs both on one target and returns their exit statuses and upcat's line. */
  async function grade(port: number, checkTcp: string[], ours: string[]) {
    const [ref, mine] = await Promise.all([
      runPeer([plugin("check_tcp"), "-H", "127.0.0.1", "-p", String(port), "-t", "5", ...checkTcp]),
      upcat(["--nagios", "--timeout", "500ms", `127.0.0.1:${port}`, ...ours]),
    ]);
    return { ref: ref.status, ours: mine.status, line: mine.stdout };
  }

  test("a wrong greeting 60ms late: WARNING under a 5s -c, CRITICAL over a 20ms one, from both", async () => {
    const late = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { open: (sock) => void setTimeout(() => sock.write("220 late\r\n"), 60), data() {} },
    });
    try {
      const slow = await grade(late.port, ["-e", "250", "-c", "0.02"], ["--expect", "250", "--critical", "0.02"]);
      expect([slow.ref, slow.ours]).toEqual([2, 2]);
      expect(slow.line).toStartWith(
        `TCP CRITICAL - Unexpected response from tcp://127.0.0.1:${late.port}: 220 late|time=0.0`,
      );
      const fine = await grade(late.port, ["-e", "250", "-c", "5"], ["--expect", "250", "--critical", "5"]);
      expect([fine.ref, fine.ours]).toEqual([1, 1]);
    } finally {
      late.stop(true);
    }
  });

  test(
    "accept, then close without a word, with -e: CRITICAL from both (check_tcp: No data received from " + "host)",
    async () => {
      const closer = Bun.listen({
        hostname: "127.0.0.1",
        port: 0,
        socket: { open: (sock) => void sock.end(), data() {} },
      });
      try {
        const r = await grade(closer.port, ["-e", "220"], ["--expect", "220"]);
        expect([r.ref, r.ours]).toEqual([2, 2]);
        expect(r.line).toStartWith(
          `TCP CRITICAL - tcp://127.0.0.1:${closer.port} error: connection closed by peer without a reply|time=`,
        );
      } finally {
        closer.stop(true);
      }
    },
  );
});

describe("against check_udp", () => {
  test("send x, expect X from upcat's UDP server: OK from both", async () => {
    const [ref, ours] = await Promise.all([
      runPeer([plugin("check_udp"), "-H", "127.0.0.1", "-p", String(upper.port), "-s", "x", "-e", "X"]),
      upcat(["--nagios", `udp://127.0.0.1:${upper.port}`, "--send", "x", "--expect", "X"]),
    ]);
    expect([ref.status, ours.status]).toEqual([0, 0]);
    expect(ours.stdout).toStartWith("UDP OK - ");
  });

  test("a UDP port with nothing bound: CRITICAL from both; upcat knows it is closed (ICMP) at once", async () => {
    const [ref, ours] = await Promise.all([
      runPeer([plugin("check_udp"), "-H", "127.0.0.1", "-p", String(udpClosed), "-s", "x", "-e", "X", "-t", "2"]),
      upcat(["--nagios", `udp://127.0.0.1:${udpClosed}`, "--send", "x"]),
    ]);
    expect([ref.status, ours.status]).toEqual([2, 2]);
    expect(ours.stdout).toStartWith(`UDP CRITICAL - udp://127.0.0.1:${udpClosed} closed: `);
  });
});

test("a peer listener nc -l started through startPeer is seen as open, then as closed once gone", async () => {
  const port = await freePort();
  const { proc } = await startPeer(
    ["/bin/sh", "-c", `echo ready; exec ${requireTool("nc")} -l 127.0.0.1 ${port}`],
    /ready/,
  );
  try {
    await waitForListening("tcp", port);
    expect((await upcat(["--quiet", `127.0.0.1:${port}`])).status).toBe(0);
  } finally {
    proc.kill();
    await proc.exited;
  }
  expect((await upcat(["--quiet", `127.0.0.1:${port}`])).status).toBe(1);
});

describe("where the reference tools are wrong (the README's list of differences)", () => {
  test("udp-closed: nc -zu exits 0 on a UDP port with nothing bound; upcat says closed, exit 1", async () => {
    const [nc, ours] = await Promise.all([
      runPeer([requireTool("nc"), "-zu", "-w", "1", "127.0.0.1", String(udpClosed)]),
      upcat(["--json", `udp://127.0.0.1:${udpClosed}`]),
    ]);
    expect(nc.status).toBe(0);
    expect(ours.status).toBe(1);
    expect(JSON.parse(ours.stdout)).toMatchObject({ state: "closed", ok: false });
  });

  test(
    "bad-port: check_tcp -p 70000 connects somewhere (70000 mod 65536); upcat refuses it before any " + "traffic",
    async () => {
      // Listen on 4464 (70000 - 65536) when it is free, to show where check_tcp's connect goes.
      let l: { stop(closeActive?: boolean): void } | undefined;
      try {
        l = Bun.listen({ hostname: "127.0.0.1", port: 70000 - 65536, socket: { data() {} } });
      } catch {
        l = undefined;
      }
      try {
        const [ref, ours] = await Promise.all([
          runPeer([plugin("check_tcp"), "-H", "127.0.0.1", "-p", "70000", "-t", "2"]),
          upcat(["--nagios", "127.0.0.1:70000"]),
        ]);
        // With 4464 bound here, check_tcp says OK for a port that does not exist; without, it was refused there.
        expect(ref.status).toBe(l ? 0 : 2);
        expect(ours.status).toBe(3);
        expect(ours.stdout).toStartWith('UPCAT UNKNOWN - invalid target "127.0.0.1:70000"');
      } finally {
        l?.stop(true);
      }
    },
  );
});
