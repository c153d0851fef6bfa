// The textbook's UDPServer.py kept up for any datagram, and a Python client that sends bursts from one socket: what a
// UDP server or relay of ours answers is compared with what the textbook's server answers.
import { expect } from "bun:test";
import { pythonJson } from "./python-json.ts";

const TEXTBOOK = new URL("../peers/textbook/UDPServer.py", import.meta.url).pathname;
const CLIENT = new URL("../transport/udp-client-burst.py", import.meta.url).pathname;
export const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
export const text = (s: string) => hex(new TextEncoder().encode(s));
export const big = text("abcdefghij".repeat(6551).slice(0, 65_507));
export const small = (count: number, what: string) => Array.from({ length: count }, (_, k) => text(`${what} ${k}`));
/**
 * The textbook's server, with two changes that keep it up for these datagrams: room for the largest (its 2048-byte
 * buffer cuts one short), and bytes that are not UTF-8 kept as they are (it would crash on them; upcat returns them
 * unchanged, as DESIGN.md says). `twice`: it sends every reply twice, as a network that duplicates datagrams would.
 */
export async function startTextbook({ twice = false } = {}): Promise<{ port: number; stop(): void }> {
  const reply = "    serverSocket.sendto(modifiedMessage.encode(), clientAddress)\n";
  let source = (await Bun.file(TEXTBOOK).text()).replace(reply, twice ? reply + reply : reply);
  source = source
    .replace("recvfrom(2048)", "recvfrom(65535)")
    .replace("message.decode().upper()", "message.decode(errors='surrogateescape').upper()")
    .replace("modifiedMessage.encode()", "modifiedMessage.encode(errors='surrogateescape')");
  expect(source).toContain("surrogateescape').upper()");
  if (twice) expect(source.split("serverSocket.sendto(").length).toBe(3);
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
export function exchange(port: number, bursts: string[][]): Promise<string[][]> {
  return pythonJson([CLIENT], { port, bursts, timeout: 3 });
}

/** TEXTBOOK_CASES are the datagrams a batch engine could get wrong, each as bursts sent from one socket. */
export const TEXTBOOK_CASES: [string, string[][]][] = [
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

/**
 * untilBatched sends bursts of 120 datagrams from a Python socket to port, as fast as it sends, until `read` (the
 * engine's count of datagrams it read itself) grows, twenty bursts at most (each within the default reply bucket and
 * the kernel's default receive buffer, so every datagram is owed its reply). Bun reads every datagram waiting at a
 * wake-up itself, so the engine reads those that come while Bun's calls and its own reads are under way: a burst that
 * arrives faster than it is answered. Every burst must come back whole, as the upper protocol answers it; it resolves
 * with the bursts it took.
 */
export async function untilBatched(port: number, read: () => number | undefined): Promise<number> {
  const before = read() ?? 0;
  const burst = Array.from({ length: 120 }, (_, k) => `burst ${k}`);
  for (let tries = 1; tries <= 20; tries++) {
    const [replies] = await exchange(port, [burst.map(text)]);
    const got = replies!.map((h) => Buffer.from(h, "hex").toString()).sort();
    expect(got).toEqual(burst.map((b) => b.toUpperCase()).sort());
    if ((read() ?? 0) > before) return tries;
  }
  return 21;
}
