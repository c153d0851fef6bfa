// The textbook's Python 3 programs against upcat, in both directions: their clients to `upcat serve`,
// `upcat send` to their servers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort, requireTool, runPeer, startPeer } from "../support/peers.ts";
import { run, startServer, type Command, type Server } from "../support/run.ts";

/** textbookScenarios registers the tests; `command` starts upcat (from source, or the compiled binary). */
export function textbookScenarios(command: () => Promise<Command> | Command): void {
  let cmd: Command;
  beforeAll(async () => {
    cmd = await command();
  }, 120_000);

  const DIR = new URL("./textbook/", import.meta.url).pathname;
  const python = () => requireTool("python3");

  describe("textbook clients against upcat serve", () => {
    let server: Server;
    beforeAll(async () => {
      server = await startServer(cmd, ["--port", "0"]);
    });
    afterAll(() => server.stop());

    test.each(["hello", "Hello, World", "straße ﬁ", "한국어 text", ""])("UDPClient.py %p", async (sentence) => {
      const r = await runPeer([python(), `${DIR}UDPClient.py`, "127.0.0.1", String(server.port)], `${sentence}\n`);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(`Input lowercase sentence:${sentence.toUpperCase()}\n`);
    });

    test.each(["hello", "Hello, World", "straße ﬁ", "한국어 text"])("TCPClient.py %p", async (sentence) => {
      // The textbook client sends no newline, no half-close, and waits: the reply must come as the bytes arrive.
      const r = await runPeer([python(), `${DIR}TCPClient.py`, "127.0.0.1", String(server.port)], `${sentence}\n`);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(`Input lowercase sentence:From Server: ${sentence.toUpperCase()}\n`);
    });

    test("twenty textbook TCP clients at once", async () => {
      const runs = await Promise.all(
        Array.from({ length: 20 }, (_, k) =>
          runPeer([python(), `${DIR}TCPClient.py`, "127.0.0.1", String(server.port)], `client ${k}\n`),
        ),
      );
      runs.forEach((r, k) => expect(r.stdout).toBe(`Input lowercase sentence:From Server: CLIENT ${k}\n`));
    });
  });

  describe("upcat send against the textbook servers", () => {
    test("UDPServer.py", async () => {
      const { proc, match } = await startPeer([python(), `${DIR}UDPServer.py`, "0"], /ready to receive (\d+)\n/);
      try {
        const port = match[1]!;
        const one = await run(cmd, ["send", `udp://127.0.0.1:${port}`, "hello", "straße"]);
        expect(one).toMatchObject({ status: 0, stdout: "HELLO STRASSE\n", stderr: "" });
        const lines = await run(cmd, ["send", "--udp", `127.0.0.1:${port}`], { stdin: "one\ntwo\nthree" });
        expect(lines).toMatchObject({ status: 0, stdout: "ONE\nTWO\nTHREE\n", stderr: "" });
      } finally {
        proc.kill();
      }
    });

    test("TCPServer.py: one recv, one reply, close", async () => {
      const { proc, match } = await startPeer([python(), `${DIR}TCPServer.py`, "0"], /ready to receive (\d+)\n/);
      try {
        const port = match[1]!;
        const r = await run(cmd, ["send", `127.0.0.1:${port}`, "hello", "world"]);
        expect(r).toMatchObject({ status: 0, stdout: "HELLO WORLD\n", stderr: "" });
        const json = await run(cmd, ["send", "--json", `tcp://127.0.0.1:${port}`, "ß"]);
        expect(json.status).toBe(0);
        const record = JSON.parse(json.stdout);
        expect(record).toMatchObject({
          target: `tcp://127.0.0.1:${port}`,
          proto: "tcp",
          address: "127.0.0.1",
          port: Number(port),
          reply: "SS",
          bytes: 2,
        });
        expect(record.rtt_ms).toBeGreaterThan(0);
      } finally {
        proc.kill();
      }
    });

    test("a port where the textbook server is not running is refused, exit 1", async () => {
      const port = await freePort();
      const r = await run(cmd, ["send", `127.0.0.1:${port}`, "hello"]);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`upcat: connect tcp 127.0.0.1:${port}: connection refused (is a server running there?)\n`);
    });
  });
}
