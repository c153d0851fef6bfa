// Piped send: lines go out without waiting for each reply, and come back whole and in order; over TCP
// as one stream on one connection (nc -N), over UDP as a window of datagrams, each retried on its own.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { requireTool } from "../support/peers.ts";
import { fromSource, run, startServer, type Server } from "../support/run.ts";
import { re } from "../support/re.ts";
import { throughRelay } from "../relay/process.ts";
import { eachUdpEngine } from "../transport/udp-engines.ts";

const PEERS = new URL("../peers/", import.meta.url).pathname;

/** pythonPeer starts a peer that prints "listening PORT" and, once its stdin closes, a last line. */
async function pythonPeer(script: string) {
  const proc = Bun.spawn([requireTool("python3"), `${PEERS}${script}`], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${script} did not start`);
    text += new TextDecoder().decode(value);
  }
  const port = Number(/^listening (\d+)/.exec(text)![1]);
  return {
    port,
    /** last closes the peer's stdin and returns what it says then. */
    async last(): Promise<string> {
      proc.stdin.end();
      for (;;) {
        const { value, done } = await reader.read();
        if (value) text += new TextDecoder().decode(value);
        if (done) return text.split("\n").filter(Boolean).at(-1)!;
      }
    },
  };
}

const numbered = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}\n`).join("");

describe("TCP: one stream on one connection", () => {
  test("2000 lines go out on one connection and come back byte for byte", async () => {
    const peer = await pythonPeer("counter.py");
    const input = numbered(2000);
    const r = await run(fromSource, ["send", `127.0.0.1:${peer.port}`], { stdin: input });
    expect(r).toMatchObject({ status: 0, stderr: "" });
    expect(r.stdout).toBe(input.toUpperCase());
    expect(await peer.last()).toBe("connections 1");
  });

  test("stdin that pauses longer than --timeout is not a stalled server", async () => {
    let server: Server | undefined;
    try {
      server = await startServer(fromSource, ["--tcp", "--port", "0", "--host", "127.0.0.1"]);
      const shell =
        `(echo one; sleep 1.2; echo two) | ${fromSource.argv.join(" ")} send --timeout 500ms ` +
        `127.0.0.1:${server.port}`;
      const proc = Bun.spawn(["sh", "-c", shell], { stdout: "pipe", stderr: "pipe" });
      const [out, err, status] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      expect({ status, out, err }).toEqual({ status: 0, out: "ONE\nTWO\n", err: "" });
    } finally {
      await server?.stop();
    }
  });
});

// On each engine: send's window through libc (the default on 64-bit Linux) and through Bun's sockets.
eachUdpEngine(() =>
  describe("UDP: a window of datagrams, replies in order", () => {
    let peer: Awaited<ReturnType<typeof pythonPeer>>;
    beforeAll(async () => {
      peer = await pythonPeer("shuffler.py");
    });
    afterAll(() => peer.last());

    test("replies that overtake each other are printed in the order of the lines", async () => {
      const input = numbered(300);
      const r = await run(fromSource, ["send", "--udp", `127.0.0.1:${peer.port}`], { stdin: input });
      expect(r).toMatchObject({ status: 0, stderr: "" });
      expect(r.stdout).toBe(input.toUpperCase());
    });

    test("through a relay that duplicates every reply, each line still gets its own reply", async () => {
      // Before, the second copy of a reply waited on its socket and was printed as the next line's: 436 of 500 wrong.
      await throughRelay(["--duplicate", "down:100%"], async ({ port }) => {
        const input = numbered(500);
        const r = await run(fromSource, ["send", "--udp", `127.0.0.1:${port}`], { stdin: input });
        expect(r).toMatchObject({ status: 0, stderr: "" });
        expect(r.stdout).toBe(input.toUpperCase());
      });
    });

    test("through a relay losing, duplicating 5% each way: each line gets its own reply on 48 sessions", async () => {
      // Before, 382 to 535 of 1000 lines were printed with another line's reply. Retried lines rest their sockets
      // rather than open new ones: the relay keeps at most 100 sessions an address.
      const args = ["--loss", "5%", "--duplicate", "5%", "--seed", "1", "--log", "json"];
      const said = await throughRelay(args, async ({ port }) => {
        const input = numbered(1000);
        const r = await run(
          fromSource,
          ["send", "--udp", "--timeout", "200ms", "--retries", "5", `127.0.0.1:${port}`],
          { stdin: input, timeoutMs: 30_000 },
        );
        expect(r).toMatchObject({ status: 0, stderr: "" });
        expect(r.stdout).toBe(input.toUpperCase());
      });
      expect(said.split("\n").filter((l) => l.includes('"event":"open"')).length).toBe(48);
      expect(said).not.toContain('"limit"');
    }, 40_000);

    test("a line whose first datagram is lost is sent again, and keeps its place", async () => {
      const input = "first\nplease drop me\nlast\n";
      const r = await run(fromSource, ["send", "--udp", "--timeout", "300ms", `127.0.0.1:${peer.port}`], {
        stdin: input,
      });
      expect(r).toMatchObject({ status: 0, stdout: input.toUpperCase(), stderr: "" });
    });

    test(
      "a line that gets no reply after its retries fails the command after the replies before it; the server " +
        "answered before, so send says it may be limiting (issue 28)",
      async () => {
        const input = "before\ndrop me and me\n";
        const r = await run(
          fromSource,
          ["send", "--udp", "--timeout", "200ms", "--retries", "0", `127.0.0.1:${peer.port}`],
          { stdin: input },
        );
        expect(r.status).toBe(1);
        expect(r.stdout).toBe("BEFORE\n");
        expect(r.stderr).toMatch(
          re(
            /^upcat: read udp 127\.0\.0\.1:\d+: no reply after 1 try of 200ms /,
            /\(the server answered 1 request before, so it is running: it may be limiting replies to this client; /,
            /try --retries or --timeout\)\n$/,
          ),
        );
      },
    );
  }),
);
