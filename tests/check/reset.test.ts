// A server that accepts and then resets (SO_LINGER 0): the same verdict every run, as check_tcp gives (issue 20, item
// 1).
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { MAX_REPLY, probe } from "../../src/check/probe.ts";
import { tcpProbe } from "../../src/check/tcp-probe.ts";
import { requireTool, startPeer } from "../support/peers.ts";

// Accepts, then closes with SO_LINGER {on, 0}: the kernel answers with a RST instead of a FIN.
const RESETTER = `
import socket, struct
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(512)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
`;

let server: Subprocess;
let port = 0;
beforeAll(async () => {
  const started = await startPeer([requireTool("python3"), "-c", RESETTER], /^(\d+)\n/);
  server = started.proc;
  port = Number(started.match[1]);
});
afterAll(() => {
  server.kill();
});

const RUNS = 50;
const target = () => ({ transport: "tcp" as const, host: "127.0.0.1", port });

test(`the handshake completed, so ${RUNS} of ${RUNS} runs are open`, async () => {
  const states = [];
  for (let i = 0; i < RUNS; i++) states.push((await probe(target(), { timeoutMs: 2000 })).state);
  expect(states).toEqual(new Array(RUNS).fill("open"));
});

// On loopback the check above is one libc connect, done before the server's reset. A remote host is dialled through
// Bun's sockets, where the reset can come first: that way is tried here directly.
test(`through Bun's sockets (some report a connect error ECONNRESET), ${RUNS} of ${RUNS} are open`, async () => {
  const states = [];
  for (let i = 0; i < RUNS; i++)
    states.push((await tcpProbe("127.0.0.1", port, { timeoutMs: 2000, maxReply: MAX_REPLY })).state);
  expect(states).toEqual(new Array(RUNS).fill("open"));
});

test(
  `with a reply asked for, ${RUNS} of ${RUNS} runs fail the same way: no reply, the peer went away (check_tcp ` +
    `-e: "No data received")`,
  async () => {
    const wanted = (reply: Uint8Array) => reply.length > 0;
    const verdicts = new Set<string>();
    for (let i = 0; i < RUNS; i++) {
      const o = await probe(target(), { timeoutMs: 2000, wanted });
      verdicts.add(`${o.state} ${o.cause}`);
    }
    expect([...verdicts]).toEqual(["error no_data"]);
  },
);
