// The relay's option readers as tables: fault values (with up:/down: aims), which transport takes which, and
// LISTEN/TARGET.
import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/errors.ts";
import { parseEnds } from "../../src/relay/ends.ts";
import { parseFaults } from "../../src/relay/fault-options.ts";
import { describeFaults } from "../../src/relay/faults.ts";

describe("parseFaults: values as typed", () => {
  test.each([
    [{ delay: "50ms" }, "tcp", { up: { delay: { ms: 50, jitterMs: 0 } }, down: { delay: { ms: 50, jitterMs: 0 } } }],
    [{ delay: "down:50ms±10ms" }, "tcp", { up: {}, down: { delay: { ms: 50, jitterMs: 10 } } }],
    [
      { delay: ["up:1s+-200ms", "down:2s"] },
      "udp",
      { up: { delay: { ms: 1000, jitterMs: 200 } }, down: { delay: { ms: 2000, jitterMs: 0 } } },
    ],
    [{ bandwidth: "up:64k" }, "tcp", { up: { bandwidth: 65536 }, down: {} }],
    [{ loss: "1%" }, "udp", { up: { loss: 0.01 }, down: { loss: 0.01 } }],
    [{ loss: "down:0.5%" }, "udp", { up: {}, down: { loss: 0.005 } }],
    [{ duplicate: "100%", reorder: "up:3" }, "udp", { up: { duplicate: 1, reorder: 3 }, down: { duplicate: 1 } }],
    [{ chunk: "down:1" }, "tcp", { up: {}, down: { chunk: 1 } }],
    [{ resetAfter: "down:1mb" }, "tcp", { up: {}, down: { resetAfter: { bytes: 1 << 20 } } }],
    [{ resetAfter: "2s" }, "tcp", { up: { resetAfter: { ms: 2000 } }, down: { resetAfter: { ms: 2000 } } }],
    [{ stallAfter: "up:4096" }, "udp", { up: { stallAfter: { bytes: 4096 } }, down: {} }],
    [{ stallAfter: "0" }, "tcp", { up: { stallAfter: { bytes: 0 } }, down: { stallAfter: { bytes: 0 } } }],
    // Given alone (true): every datagram twice, pairs swapped, both ways.
    [
      { duplicate: true, reorder: true },
      "udp",
      { up: { duplicate: 1, reorder: 2 }, down: { duplicate: 1, reorder: 2 } },
    ],
    [{ duplicate: [true], reorder: "down:5" }, "udp", { up: { duplicate: 1 }, down: { duplicate: 1, reorder: 5 } }],
  ] as const)("%j over %s", (raw, transport, expected) => {
    expect(parseFaults(raw, transport, 7)).toEqual({ ...expected, seed: 7 } as never);
  });

  test.each([
    [{ loss: "150%" }, "udp", '--loss "150%"'],
    [{ loss: "1" }, "udp", '--loss "1" (expected a percentage'],
    [{ loss: "-1%" }, "udp", '--loss "-1%"'],
    [{ delay: "-1s" }, "tcp", 'duration for --delay: "-1s"'],
    [{ delay: "50ms±60ms" }, "tcp", "the jitter cannot exceed the delay"],
    [{ delay: " 50ms" }, "tcp", "--delay"],
    [{ delay: "sideways:50ms" }, "tcp", "--delay"],
    [{ bandwidth: "0" }, "tcp", "--bandwidth"],
    [{ reorder: "1" }, "udp", "--reorder"],
    [{ reorder: "65" }, "udp", "--reorder"],
    [{ chunk: "128k" }, "tcp", "--chunk"],
    [{ resetAfter: "1m" }, "tcp", "m is ambiguous"],
    [{ stallAfter: "soon" }, "tcp", "--stall-after"],
    [{ delay: ["50ms", "down:10ms"] }, "tcp", "--delay is given twice for down"],
    [{ loss: "1%" }, "tcp", "--loss is for UDP relays, not TCP"],
    [{ duplicate: "1%" }, "tcp", "--duplicate is for UDP relays"],
    [{ reorder: "2" }, "tcp", "--reorder is for UDP relays"],
    [{ chunk: "1" }, "udp", "--chunk is for TCP relays, not UDP"],
    [{ resetAfter: "1s" }, "udp", "--reset-after is for TCP relays, not UDP"],
    [{ duplicate: [true, "down:5%"] }, "udp", "--duplicate is given twice for down"],
    [{ reorder: true }, "tcp", "--reorder is for UDP relays"],
    [{ delay: true }, "udp", "--delay needs a value"],
  ] as const)("%j over %s is refused: %s", (raw, transport, message) => {
    expect(() => parseFaults(raw, transport, 1)).toThrow(UsageError);
    expect(() => parseFaults(raw, transport, 1)).toThrow(message);
  });

  test("describeFaults names each fault with its direction, as the ready line and the log show them", () => {
    expect(
      describeFaults(parseFaults({ delay: "down:50ms±10ms", loss: "up:1%", stallAfter: "down:2s" }, "udp", 1)),
    ).toEqual(["up loss 1%", "down delay 50ms±10ms", "down stall-after 2000ms"]);
  });
});

describe("parseEnds: LISTEN and TARGET", () => {
  test.each([
    [
      ":8080",
      "backend:80",
      { transport: "tcp", listen: { host: "::", port: 8080 }, target: { host: "backend", port: 80 } },
    ],
    [
      "8080",
      "10.0.0.5:80",
      { transport: "tcp", listen: { host: "::", port: 8080 }, target: { host: "10.0.0.5", port: 80 } },
    ],
    [
      "udp://:5353",
      "dns.internal:53",
      { transport: "udp", listen: { host: "::", port: 5353 }, target: { host: "dns.internal", port: 53 } },
    ],
    [
      ":5353",
      "udp://[::1]:53",
      { transport: "udp", listen: { host: "::", port: 5353 }, target: { host: "::1", port: 53 } },
    ],
    [
      "127.0.0.1:0",
      ":9000",
      { transport: "tcp", listen: { host: "127.0.0.1", port: 0 }, target: { host: "127.0.0.1", port: 9000 } },
    ],
    [
      "[::1]:0",
      "tcp://[::1]:7",
      { transport: "tcp", listen: { host: "::1", port: 0 }, target: { host: "::1", port: 7 } },
    ],
  ] as const)("LISTEN %s and TARGET %s read as written", (listen, target, expected) => {
    expect(parseEnds(listen, target)).toMatchObject(expected as never);
  });

  test.each([
    ["udp://:53", "tcp://x:53", "LISTEN is udp and TARGET is tcp"],
    ["http://:80", "x:80", 'invalid LISTEN "http://:80"'],
    [":99999", "x:80", 'invalid LISTEN ":99999"'],
    [":8080", "x", 'invalid TARGET "x": missing port'],
    [":8080", "x:0", 'invalid TARGET "x:0"'],
    [":8080", "::1:80", "an IPv6 address needs brackets"],
    [":8080", "007:abc", 'invalid TARGET "007:abc"'],
  ])("a bad fault value is refused with its reason (case %#)", (listen, target, message) => {
    expect(() => parseEnds(listen, target)).toThrow(UsageError);
    expect(() => parseEnds(listen, target)).toThrow(message);
  });
});
