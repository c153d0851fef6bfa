// netcat-openbsd as a peer: nc's clients against `upcat serve`, and `upcat send` against nc listeners.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort, requireTool, runPeer, waitForListening } from "../support/peers.ts";
import { run, startServer, type Command, type Server } from "../support/run.ts";

/** netcatScenarios registers the tests; `command` starts upcat (from source, or the compiled binary). */
export function netcatScenarios(command: () => Promise<Command> | Command): void {
  let cmd: Command;
  beforeAll(async () => {
    cmd = await command();
  }, 120_000);

  const nc = () => requireTool("nc");

  describe("nc against upcat serve", () => {
    let server: Server;
    beforeAll(async () => {
      server = await startServer(cmd, ["--port", "0"]);
    });
    afterAll(() => server.stop());

    test("nc -N over TCP: lines in, the same lines uppercased out, then the server closes", async () => {
      const input = "first line\nsecond, straße\nno newline at the end";
      const r = await runPeer([nc(), "-N", "127.0.0.1", String(server.port)], input);
      expect(r).toMatchObject({ status: 0, stdout: input.toUpperCase(), stderr: "" });
    });

    test("nc -N over IPv6", async () => {
      const r = await runPeer([nc(), "-N", "::1", String(server.port)], "over six\n");
      expect(r.stdout).toBe("OVER SIX\n");
    });

    test("nc -u: each line is a datagram, each comes back uppercased", async () => {
      const r = await runPeer([nc(), "-u", "-w", "1", "127.0.0.1", String(server.port)], "udp one\n");
      expect(r.stdout).toBe("UDP ONE\n");
    });

    test("nc -N with a 4 MB stream and no newline", async () => {
      const input = "abcdefghijklmnopqrstuvwxyz".repeat(160_000);
      const r = await runPeer([nc(), "-N", "127.0.0.1", String(server.port)], input, 30_000);
      expect(r.stdout.length).toBe(input.length);
      expect(r.stdout === input.toUpperCase()).toBe(true);
    });
  });

  describe("upcat send against nc listeners", () => {
    test("TCP: nc -l receives the message; its reply is printed; upcat half-closes so nc -N ends", async () => {
      const port = await freePort();
      const listener = Bun.spawn([nc(), "-N", "-l", "127.0.0.1", String(port)], {
        stdin: new Blob(["FROM NC\n"]),
        stdout: "pipe",
        stderr: "pipe",
      });
      await waitForListening("tcp", port);
      const r = await run(cmd, ["send", `127.0.0.1:${port}`, "to nc"]);
      const heard = await new Response(listener.stdout).text();
      expect(await listener.exited).toBe(0);
      expect(heard).toBe("to nc");
      expect(r).toMatchObject({ status: 0, stdout: "FROM NC\n", stderr: "" });
    });

    test("UDP: an nc -u -l listener that never answers gives a timeout after the retries, exit 1", async () => {
      const port = await freePort("udp");
      const listener = Bun.spawn([nc(), "-u", "-l", "127.0.0.1", String(port)], {
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
      });
      try {
        await waitForListening("udp", port);
        const r = await run(cmd, ["send", "--timeout", "200ms", "--retries", "1", `udp://127.0.0.1:${port}`, "anyone"]);
        expect(r.status).toBe(1);
        expect(r.stderr).toBe(
          `upcat: read udp 127.0.0.1:${port}: no reply after 2 tries of 200ms (is a server running there? try ` +
            `--timeout or --retries)\n`,
        );
      } finally {
        listener.kill();
      }
      expect(await new Response(listener.stdout).text()).toStartWith("anyone");
    });
  });
}
