// A port check on loopback through one libc connect (src/transport/loopback-connect.ts): which addresses take that
// way (Python's ipaddress decides what loopback is), and what it says of open, closed and busy ports.
import { afterAll, expect, test } from "bun:test";
import fc from "fast-check";
import { connectLoopback, isLoopback } from "../../src/transport/loopback-connect.ts";
import { freePort, fullAcceptQueue, requireTool } from "../support/peers.ts";

const open4 = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
const open6 = Bun.listen({ hostname: "::1", port: 0, socket: { data() {} } });
afterAll(() => {
  open4.stop(true);
  open6.stop(true);
});

/** pythonLoopback asks Python's ipaddress which texts are loopback addresses (IPv4-mapped ones by their IPv4). */
function pythonLoopback(texts: string[]): boolean[] {
  const code = [
    "import ipaddress, json, sys",
    "def loop(t):",
    "    a = ipaddress.ip_address(t)",
    "    m = getattr(a, 'ipv4_mapped', None)",
    "    return a.is_loopback or (m is not None and m.is_loopback)",
    "print(json.dumps([loop(t) for t in json.load(sys.stdin)]))",
  ].join("\n");
  const out = Bun.spawnSync([requireTool("python3"), "-c", code], { stdin: Buffer.from(JSON.stringify(texts)) });
  expect(out.exitCode).toBe(0);
  return JSON.parse(out.stdout.toString());
}

test("isLoopback agrees with Python's ipaddress on IPv4, IPv6 and IPv4-mapped addresses", () => {
  const near = fc.oneof(
    fc.ipV4(),
    fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)).map(([a, b, c]) => `127.${a}.${b}.${c}`),
    fc.ipV6(),
    fc.ipV4().map((a) => `::ffff:${a}`),
    fc.tuple(fc.nat(255), fc.nat(255)).map(([a, b]) => `::ffff:127.0.${a}.${b}`),
    fc.constantFrom(
      "::1",
      "0:0:0:0:0:0:0:1",
      "::0:1",
      "::",
      "::2",
      "1::1",
      "::ffff:7f00:1",
      "::127.0.0.1",
      "128.0.0.1",
    ),
  );
  const texts = fc.sample(near, 3000);
  const oracle = pythonLoopback(texts);
  texts.forEach((text, i) => expect([text, isLoopback(text)]).toEqual([text, oracle[i]!]));
});

test("names, scoped addresses and other texts never take the libc way", () => {
  for (const text of ["localhost", "fe80::1%lo", "127.0.0.1 ", "", "127.0.0.1:80"]) {
    expect(isLoopback(text)).toBe(false);
    expect(connectLoopback(text, open4.port)).toBeUndefined();
  }
  expect(connectLoopback("10.0.0.1", 1)).toBeUndefined();
});

test("open and closed ports on 127.0.0.1, ::1 and ::ffff:127.0.0.1", async () => {
  const closed = await freePort();
  expect(connectLoopback("127.0.0.1", open4.port)).toBe("connected");
  expect(connectLoopback("127.0.0.1", closed)).toBe("ECONNREFUSED");
  expect(connectLoopback("::1", open6.port)).toBe("connected");
  expect(connectLoopback("::1", closed)).toBe("ECONNREFUSED");
  expect(connectLoopback("::ffff:127.0.0.1", open4.port)).toBe("connected");
});

test("each 127.0.0.0/8 address is dialled as written: open where a listener has it, refused one address over", () => {
  const addresses = fc.sample(
    fc.tuple(fc.nat(255), fc.nat(255), fc.integer({ min: 2, max: 250 })).map(([a, b, c]) => `127.${a}.${b}.${c}`),
    20,
  );
  for (const address of addresses) {
    const l = Bun.listen({ hostname: address, port: 0, socket: { data() {} } });
    try {
      const next = address.replace(/\d+$/, (d) => String(Number(d) + 1));
      expect([address, connectLoopback(address, l.port)]).toEqual([address, "connected"]);
      expect([next, connectLoopback(next, l.port)]).toEqual([next, "ECONNREFUSED"]);
    } finally {
      l.stop(true);
    }
  }
});

test("the listener sees the connection and then its polite end (a FIN, as nc -z leaves it)", async () => {
  const seen: string[] = [];
  const l = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: { open: () => void seen.push("open"), data() {}, end: () => void seen.push("end"), close() {} },
  });
  try {
    expect(connectLoopback("127.0.0.1", l.port)).toBe("connected");
    for (let i = 0; i < 200 && seen.length < 2; i++) await Bun.sleep(5);
    expect(seen).toEqual(["open", "end"]);
  } finally {
    l.stop(true);
  }
});

test("a full accept queue leaves the handshake unfinished: undefined, so the check dials the usual way", async () => {
  const queue = await fullAcceptQueue();
  try {
    expect(connectLoopback("127.0.0.1", queue.port)).toBeUndefined();
  } finally {
    queue.stop();
  }
});
