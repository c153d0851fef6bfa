// The UDP server on each engine against the textbook's UDPServer.py: the datagrams a batch engine could get wrong (the
// largest, an empty one, bytes that are not UTF-8, a burst larger than a batch) come back as the textbook's come back.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { upper } from "../../src/protocol/upper.ts";
import type { Listener } from "../../src/transport/listener.ts";
import { serveProtocol } from "../../src/transport/serve.ts";
import { batchRead } from "../../src/transport/udp-server.ts";
import { eachUdpEngine } from "./udp-engines.ts";

const TEXTBOOK = new URL("../peers/textbook/UDPServer.py", import.meta.url).pathname;
const CLIENT = new URL("./udp-client-burst.py", import.meta.url).pathname;
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const text = (s: string) => hex(new TextEncoder().encode(s));
const big = text("abcdefghij".repeat(6551).slice(0, 65_507));
const small = (count: number, what: string) => Array.from({ length: count }, (_, k) => text(`${what} ${k}`));

/**
 * The textbook's server, with two changes that keep it up for these datagrams: room for the largest (its 2048-byte
 * buffer cuts one short), and bytes that are not UTF-8 kept as they are (it would crash on them; upcat returns them
 * unchanged, as DESIGN.md says).
 */
async function startTextbook(): Promise<{ port: number; stop(): void }> {
  const source = (await Bun.file(TEXTBOOK).text())
    .replace("recvfrom(2048)", "recvfrom(65535)")
    .replace("message.decode().upper()", "message.decode(errors='surrogateescape').upper()")
    .replace("modifiedMessage.encode()", "modifiedMessage.encode(errors='surrogateescape')");
  expect(source).toContain("surrogateescape').upper()");
  const proc = Bun.spawn(["python3", "-c", source, "0"], { stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("UDPServer.py did not start");
    line += new TextDecoder().decode(value);
  }
  return { port: Number(/receive (\d+)/.exec(line)![1]), stop: () => proc.kill("SIGKILL") };
}

/** exchange sends the bursts from one Python socket to port and resolves with the replies to each, as hex. */
async function exchange(port: number, bursts: string[][]): Promise<string[][]> {
  const proc = Bun.spawn(["python3", CLIENT], {
    stdin: new Blob([JSON.stringify({ port, bursts, timeout: 3 })]),
    stdout: "pipe",
    stderr: "inherit",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const out = await new Response(proc.stdout).text();
  clearTimeout(timer);
  expect(await proc.exited).toBe(0);
  return JSON.parse(out);
}

let textbook: { port: number; stop(): void };
beforeAll(async () => {
  textbook = await startTextbook();
});
afterAll(() => textbook.stop());

eachUdpEngine((engine) => {
  let listener: Listener;
  beforeAll(async () => {
    [listener] = (await serveProtocol(upper, ["udp"], { host: "127.0.0.1", port: 0 })) as [Listener];
  });
  afterAll(() => listener.stop());

  test("the engine asked for is the one serving", () => {
    expect(batchRead(listener) === undefined).toBe(engine === "bun");
  });

  const cases: [string, string[][]][] = [
    ["a datagram of 65 507 bytes", [[big]]],
    // Amid a burst, so that on the batch engine it is read in a batch, not handed over by Bun.
    ["a datagram of 65 507 bytes amid 40 small ones", [[...small(20, "before"), big, ...small(20, "after")]]],
    ["an empty datagram", [[""]]],
    ["bytes that are not UTF-8", [["61ff62c3", "c0af", "80"]]],
    ["UTF-8 beside ASCII", [[text("straße ﬁ 한국어")]]],
    // Four bursts of 125, each more than a batch (64), sent at once and answered before the next.
    [
      "500 datagrams, in bursts of 125",
      Array.from({ length: 4 }, (_, b) =>
        Array.from({ length: 125 }, (_, k) => text(`datagram ${b * 125 + k} of the burst`)),
      ),
    ],
  ];
  test.each(cases)(
    "%s comes back as from the textbook's server",
    async (_name, bursts) => {
      const [ours, theirs] = await Promise.all([exchange(listener.port, bursts), exchange(textbook.port, bursts)]);
      expect(theirs.flat().length).toBe(bursts.flat().length);
      expect(ours).toEqual(theirs);
    },
    30_000,
  );

  test("a burst larger than Bun's wake-up is read in batches on the batch engine", () => {
    // After the bursts above: Bun hands over 8 datagrams a wake-up, the batch engine reads what waits behind them.
    if (engine === "batch") expect(batchRead(listener)).toBeGreaterThan(0);
    else expect(batchRead(listener)).toBeUndefined();
  });
});
