// The batch engine's drainer on a socket of its own (made through libc, so Bun's event loop never reads it): datagrams
// from three clients wait in the kernel before the drain starts, so its batches are known (64, then the rest). The
// first batch is answered in place throughout and goes back from the read buffer; the second starts in place and then
// meets replies that grow, replies that are dropped and empty datagrams, and goes back through the copy. Each client
// must get its own replies, in order.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { AF_INET, bunFfi, libcOnce, SOCK_DGRAM_NONBLOCK_CLOEXEC } from "../../src/transport/libc.ts";
import { newCounters } from "../../src/transport/listener.ts";
import { batchDrainer, type Drainer } from "../../src/transport/udp-batch/drainer.ts";
import { batchLibc } from "../../src/transport/udp-batch/libc.ts";
import { pythonJson } from "../support/python-json.ts";
import { text } from "../support/textbook-udp.ts";

const lib = libcOnce((t) => ({
  bind: { args: [t.i32, t.ptr, t.u32], returns: t.i32 },
  getsockname: { args: [t.i32, t.ptr, t.ptr], returns: t.i32 },
}));

/** STREAM is what the clients send, as [client, text]: 64 in ASCII, then 20 more and 44 of every kind. */
const STREAM: [number, string][] = Array.from({ length: 128 }, (_, k): [number, string] => {
  if (k < 84) return [k % 3, `ascii ${k}`];
  return [k % 3, [`ascii ${k}`, `grow ${k}`, `drop ${k}`, ""][k % 4]!];
});

/** answer is the drainer's OnDatagram here: "drop" gets nothing, "grow" a new and longer reply, the rest in place. */
function answer(message: Uint8Array): Uint8Array | undefined {
  const said = Buffer.from(message).toString();
  if (said.startsWith("drop")) return undefined;
  if (said.startsWith("grow")) return Buffer.from(`${said.toUpperCase()}!`);
  for (let i = 0; i < message.length; i++) if (message[i]! >= 97 && message[i]! <= 122) message[i]! -= 32;
  return message;
}
const expected = (sent: string) => (sent.startsWith("grow") ? `${sent.toUpperCase()}!` : sent.toUpperCase());

const CLIENT = new URL("./udp-multi-client.py", import.meta.url).pathname;

let fd = -1;
let port = 0;
beforeAll(() => {
  const c = lib()!;
  const { ptr } = bunFfi();
  fd = c.socket(AF_INET, SOCK_DGRAM_NONBLOCK_CLOEXEC, 0);
  // sockaddr_in for 127.0.0.1, port 0: family (little-endian), port, address (network order).
  const name = new Uint8Array([AF_INET, 0, 0, 0, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  expect(c.bind(fd, ptr(name), 16)).toBe(0);
  const length = new Uint32Array([16]);
  expect(c.getsockname(fd, ptr(name), ptr(length))).toBe(0);
  port = (name[2]! << 8) | name[3]!;
});
afterAll(() => lib()?.close(fd));

test("64 answered in place and 64 mixed come back to their own clients, in order", async () => {
  const want = [0, 1, 2].map((i) => STREAM.filter(([j, t]) => j === i && !t.startsWith("drop")).map(([, t]) => t));
  const counters = newCounters();
  const drainer: Drainer = batchDrainer(batchLibc()!, fd, answer, counters, () => {});
  // Once every datagram waits in the kernel: one kick, and the drain reads them all (64, then 64).
  const drained = async () => {
    drainer.kick();
    for (let waited = 0; drainer.read < STREAM.length && waited < 5000; waited += 10) await Bun.sleep(10);
  };
  const stream = STREAM.map(([i, t]) => [i, text(t)]);
  const input = { port, binds: [0, 0, 0], stream, want: want.map((w) => w.length), timeouts: [3, 3, 3] };
  const got = await pythonJson<string[][]>([CLIENT], input, drained);
  drainer.stop();
  expect(drainer.read).toBe(STREAM.length);
  expect(got.map((g) => g.map((h) => Buffer.from(h, "hex").toString()))).toEqual(want.map((w) => w.map(expected)));
  expect(counters.datagramsOut).toBe(want.flat().length);
  expect(counters.sendFailed).toBe(0);
}, 20_000);
