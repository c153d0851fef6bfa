// socat as a peer: its clients against `upcat serve`, and `upcat send` against socat servers running tr.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort, requireTool, runPeer, waitForListening } from "../support/peers.ts";
import { run, startServer, type Command, type Server } from "../support/run.ts";

/** socatScenarios registers the tests; `command` starts upcat (from source, or the compiled binary). */
export function socatScenarios(command: () => Promise<Command> | Command): void {
  let cmd: Command;
  beforeAll(async () => {
    cmd = await command();
  }, 120_000);

  const socat = () => requireTool("socat");

  describe("socat against upcat serve", () => {
    let server: Server;
    beforeAll(async () => {
      server = await startServer(cmd, ["--port", "0"]);
    });
    afterAll(() => server.stop());

    test("TCP, half-close on EOF", async () => {
      const r = await runPeer([socat(), "-t", "5", "-", `TCP:127.0.0.1:${server.port}`], "through socat\nstraße\n");
      expect(r).toMatchObject({ status: 0, stdout: "THROUGH SOCAT\nSTRASSE\n" });
    });

    test("TCP6", async () => {
      const r = await runPeer([socat(), "-t", "5", "-", `TCP6:[::1]:${server.port}`], "six");
      expect(r.stdout).toBe("SIX");
    });

    test("UDP", async () => {
      const r = await runPeer([socat(), "-t", "1", "-", `UDP:127.0.0.1:${server.port}`], "datagram");
      expect(r.stdout).toBe("DATAGRAM");
    });
  });

  describe("upcat send against socat servers", () => {
    test("TCP: socat with tr as the uppercase server", async () => {
      const port = await freePort();
      const srv = Bun.spawn([socat(), `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`, "SYSTEM:tr a-z A-Z"], {
        stdout: "ignore",
        stderr: "pipe",
      });
      try {
        await waitForListening("tcp", port);
        const r = await run(cmd, ["send", `127.0.0.1:${port}`, "through tr"]);
        expect(r).toMatchObject({ status: 0, stdout: "THROUGH TR\n", stderr: "" });
      } finally {
        srv.kill();
      }
    });

    test("UDP: socat echoing each datagram", async () => {
      const port = await freePort("udp");
      const srv = Bun.spawn([socat(), `UDP-RECVFROM:${port},bind=127.0.0.1,fork`, "SYSTEM:tr a-z A-Z"], {
        stdout: "ignore",
        stderr: "pipe",
      });
      try {
        await waitForListening("udp", port);
        const r = await run(cmd, ["send", "--udp", `127.0.0.1:${port}`], { stdin: "one\ntwo\n" });
        expect(r).toMatchObject({ status: 0, stdout: "ONE\nTWO\n", stderr: "" });
      } finally {
        srv.kill();
      }
    });
  });
}
