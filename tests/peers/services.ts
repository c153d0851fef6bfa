// The RFC services against peers nobody here wrote: rdate, netcat, socat, and openbsd-inetd as the reference.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chargenLine } from "../../src/protocol/chargen.ts";
import { startInetd, type Inetd } from "../support/inetd.ts";
import { requireTool, runPeer } from "../support/peers.ts";
import { run, startServer, type Command, type Server } from "../support/run.ts";

const SERVICES = ["echo", "discard", "chargen", "qotd", "daytime", "time"] as const;

/** readyPorts reads each protocol's port from the ready line. */
function readyPorts(ready: string): Record<string, number> {
  const ports: Record<string, number> = {};
  for (const m of ready.matchAll(/(\w+) on udp \S+:(\d+)/g)) ports[m[1]!] = Number(m[2]);
  return ports;
}

/** ctimeToMs reads "Tue Nov 24 05:58:35 2026" (with or without a zone word) as UTC. */
function ctimeToMs(text: string): number {
  const m = /(\w{3}) +(\d+) (\d\d):(\d\d):(\d\d)(?: \w+)? (\d{4})/.exec(text);
  if (!m) throw new Error(`not a ctime date: ${JSON.stringify(text)}`);
  const month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].indexOf(m[1]!);
  return Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
}

const CHARGEN_START = Buffer.concat(Array.from({ length: 40 }, (_, n) => chargenLine(n)));

/** servicesScenarios registers the tests; `command` starts upcat (from source, or the compiled binary). */
export function servicesScenarios(command: () => Promise<Command> | Command): void {
  let cmd: Command;
  let server: Server;
  let ports: Record<string, number>;
  const env = { TZ: "UTC" };
  beforeAll(async () => {
    cmd = await command();
    server = await startServer(cmd, ["--host", "::", ...SERVICES.flatMap((s) => ["--protocol", `${s}=0`])], { env });
    ports = readyPorts(server.ready);
  }, 120_000);
  afterAll(() => server?.stop());

  test("the ready line names every service with its own port", () => {
    expect(Object.keys(ports).sort()).toEqual([...SERVICES].sort());
    expect(new Set(Object.values(ports)).size).toBe(SERVICES.length);
  });

  describe("rdate against upcat's time service on port 37", () => {
    let timeServer: Server;
    beforeAll(async () => {
      timeServer = await startServer(cmd, ["--protocol", "time", "--host", "127.0.0.1"]);
    });
    afterAll(() => timeServer?.stop());

    test.each(["-p", "-p -u"])("rdate %s", async (flags) => {
      const r = await runPeer(["env", "TZ=UTC", requireTool("rdate"), ...flags.split(" "), "127.0.0.1"]);
      expect(r.status).toBe(0);
      expect(Math.abs(ctimeToMs(r.stdout) - Date.now())).toBeLessThan(3000);
    });
  });

  describe("netcat and socat against the services", () => {
    test("echo: nc -N over TCP, socat over UDP", async () => {
      const tcp = await runPeer([requireTool("nc"), "-N", "127.0.0.1", String(ports.echo)], "echo me\n");
      expect(tcp.stdout).toBe("echo me\n");
      const udp = await runPeer([requireTool("socat"), "-t", "1", "-", `UDP:127.0.0.1:${ports.echo}`], "echo datagram");
      expect(udp.stdout).toBe("echo datagram");
    });

    test("discard: nc -N sends and gets nothing back, exit 0", async () => {
      const r = await runPeer([requireTool("nc"), "-N", "127.0.0.1", String(ports.discard)], "x".repeat(100_000));
      expect(r).toMatchObject({ status: 0, stdout: "" });
    });

    test("daytime: nc over TCP and socat over UDP read the date", async () => {
      const tcp = await runPeer([requireTool("nc"), "-d", "127.0.0.1", String(ports.daytime)]);
      expect(Math.abs(ctimeToMs(tcp.stdout) - Date.now())).toBeLessThan(3000);
      const udp = await runPeer([requireTool("socat"), "-t", "1", "-", `UDP:127.0.0.1:${ports.daytime}`], "\n");
      expect(Math.abs(ctimeToMs(udp.stdout) - Date.now())).toBeLessThan(3000);
    });

    test("chargen: socat reads the pattern over TCP until it has enough", async () => {
      const r = await runPeer([
        "sh",
        "-c",
        `${requireTool("socat")} -u TCP:127.0.0.1:${ports.chargen} - | head -c ${CHARGEN_START.length}`,
      ]);
      expect(Buffer.from(r.stdout).equals(CHARGEN_START)).toBe(true);
    });

    test("qotd: nc -d gets a quote and the close", async () => {
      const r = await runPeer([requireTool("nc"), "-d", "::1", String(ports.qotd)]);
      expect(r.status).toBe(0);
      expect(r.stdout.length).toBeGreaterThan(0);
      expect(r.stdout.endsWith("\r\n")).toBe(true);
    });
  });

  describe("upcat send --protocol against openbsd-inetd and against upcat serve", () => {
    let inetd: Inetd;
    beforeAll(async () => {
      inetd = await startInetd();
    });
    afterAll(() => inetd?.stop());

    const send = (args: string[]) => run(cmd, ["send", ...args], { env });

    test.each(["tcp", "udp"])("echo over %s: the same reply from both", async (proto) => {
      const a = await send(["--protocol", "echo", `${proto}://[::1]:${inetd.ports.echo}`, "hello", "inetd"]);
      const b = await send(["--protocol", "echo", `${proto}://[::1]:${ports.echo}`, "hello", "inetd"]);
      expect(a).toMatchObject({ status: 0, stdout: "hello inetd\n" });
      expect(b).toMatchObject({ status: 0, stdout: a.stdout });
    });

    test.each(["tcp", "udp"])("discard over %s: both report the bytes sent", async (proto) => {
      const a = await send(["--protocol", "discard", `${proto}://[::1]:${inetd.ports.discard}`, "twelve bytes"]);
      const b = await send(["--protocol", "discard", `${proto}://[::1]:${ports.discard}`, "twelve bytes"]);
      expect(a).toMatchObject({ status: 0, stdout: "12 bytes sent\n" });
      expect(b).toMatchObject({ status: 0, stdout: a.stdout });
    });

    test.each(["tcp", "udp"])(
      "time over %s: both dates agree within 2 s, and --raw gives the number",
      async (proto) => {
        const a = await send(["--protocol", "time", `${proto}://[::1]:${inetd.ports.time}`]);
        const b = await send(["--protocol", "time", `${proto}://[::1]:${ports.time}`]);
        expect(a.status).toBe(0);
        expect(b.status).toBe(0);
        expect(Math.abs(Date.parse(a.stdout.trim()) - Date.parse(b.stdout.trim()))).toBeLessThanOrEqual(2000);
        const raw = await send(["--protocol", "time", "--raw", `${proto}://[::1]:${inetd.ports.time}`]);
        expect(Math.abs(Number(raw.stdout) - (Date.parse(a.stdout.trim()) / 1000 + 2_208_988_800))).toBeLessThanOrEqual(
          2,
        );
      },
    );

    test.each(["tcp", "udp"])("daytime over %s: the same form, the same time within 2 s", async (proto) => {
      const a = await send(["--protocol", "daytime", `${proto}://[::1]:${inetd.ports.daytime}`]);
      const b = await send(["--protocol", "daytime", `${proto}://[::1]:${ports.daytime}`]);
      expect(a.stdout).toMatch(/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\r\n$/);
      expect(b.stdout).toMatch(/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\r\n$/);
      expect(Math.abs(ctimeToMs(a.stdout) - ctimeToMs(b.stdout))).toBeLessThanOrEqual(2000);
    });

    test("chargen over TCP: --bytes 2960 gives the same 40 lines from both", async () => {
      const a = await send([
        "--protocol",
        "chargen",
        "--bytes",
        String(CHARGEN_START.length),
        `[::1]:${inetd.ports.chargen}`,
      ]);
      const b = await send([
        "--protocol",
        "chargen",
        "--bytes",
        String(CHARGEN_START.length),
        `[::1]:${ports.chargen}`,
      ]);
      expect(a.status).toBe(0);
      expect(Buffer.from(a.stdoutBytes).equals(CHARGEN_START)).toBe(true);
      expect(Buffer.from(b.stdoutBytes).equals(CHARGEN_START)).toBe(true);
    });

    test("chargen over UDP: a 74-byte line of the pattern from both", async () => {
      for (const port of [inetd.ports.chargen, ports.chargen!]) {
        const r = await send(["--protocol", "chargen", `udp://[::1]:${port}`]);
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(/^[ -~]{72}\r\n$/);
      }
    });
  });
}
