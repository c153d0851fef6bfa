// The gate every server and relay asks: who is admitted, what is answered, which replies go, each refusal counted.
import { describe, expect, test } from "bun:test";
import { parseAllowList } from "../../src/transport/allow-list.ts";
import { type Budgets, Gate, type LimitEvent, newBudgets } from "../../src/transport/gate.ts";
import { newCounters } from "../../src/transport/listener.ts";
import { loopbackFlow, sourcePrefix } from "../../src/transport/prefix.ts";

const LIMITS = { maxConnections: 3, maxPerAddress: 2, maxOutput: 1 << 20 };

function gate(budgets: Budgets = newBudgets({ limits: LIMITS }), transport: "tcp" | "udp" = "tcp") {
  const counters = newCounters();
  const events: LimitEvent[] = [];
  return { gate: new Gate(budgets, transport, counters, (e) => events.push(e)), counters, events };
}

describe("admit (--allow, --max-connections, --max-per-address)", () => {
  test("a peer outside --allow is denied, counted, and not logged", () => {
    const g = gate(newBudgets({ allow: parseAllowList(["127.0.0.0/8"]), limits: LIMITS }));
    expect(g.gate.admit("10.0.0.1", 5000, 0)).toBeUndefined();
    expect(g.gate.admit("127.0.0.1", 5000, 0)).toBe("127.0.0.1");
    expect(g.counters.denied).toBe(1);
    expect(g.events).toEqual([]);
  });

  test("--max-connections counts the open ones it is given; --max-per-address counts the slots held", () => {
    const g = gate();
    const a = g.gate.admit("192.0.2.1", 1, 0);
    expect(g.gate.admit("192.0.2.1", 2, 1)).toBe(a!);
    expect(g.gate.admit("192.0.2.1", 3, 2)).toBeUndefined();
    expect(g.gate.admit("192.0.2.2", 4, 3)).toBeUndefined();
    expect([g.counters.perAddress, g.counters.overLimit]).toEqual([1, 1]);
    expect(g.events).toEqual([
      { event: "limit", transport: "tcp", limit: "max-per-address", peer: "192.0.2.1", port: 3 },
      { event: "limit", transport: "tcp", limit: "max-connections", peer: "192.0.2.2", port: 4 },
    ]);
    g.gate.release(a!);
    expect(g.gate.admit("192.0.2.1", 5, 1)).toBe(a!);
  });

  test("the gates of one process share their slots: serving more listeners does not multiply --max-per-address", () => {
    const budgets = newBudgets({ limits: LIMITS });
    const tcp = gate(budgets, "tcp");
    const udp = gate(budgets, "udp");
    expect(tcp.gate.admit("192.0.2.1", 1, 0)).toBeDefined();
    expect(udp.gate.hold("192.0.2.1", 2, 0)).toBeDefined();
    expect(tcp.gate.admit("192.0.2.1", 3, 1)).toBeUndefined();
    // Each refusal is the asker's own: its counters, its log.
    expect([tcp.counters.perAddress, udp.counters.perAddress]).toEqual([1, 0]);
  });

  test("hold admits without asking --allow again (a UDP session's datagrams were asked one by one)", () => {
    const g = gate(newBudgets({ allow: parseAllowList(["127.0.0.1"]), limits: LIMITS }), "udp");
    expect(g.gate.hold("10.0.0.1", 9000, 0)).toBe("10.0.0.1");
    expect(g.counters.denied).toBe(0);
  });
});

describe("answers (--allow, reflection)", () => {
  test.each([
    ["192.0.2.1", 40000, true, "none"],
    ["10.0.0.1", 40000, false, "denied"],
    ["192.0.2.1", 19, false, "reflected"],
    ["192.0.2.1", 5353, false, "reflected"],
    ["224.0.0.1", 40000, false, "reflected"],
    ["255.255.255.255", 40000, false, "reflected"],
    ["ff02::1", 40000, false, "reflected"],
  ] as const)("%s port %d: %p (%s)", (peer, port, answered, counted) => {
    const allow = parseAllowList(["192.0.2.0/24", "224.0.0.0/4", "255.255.255.255", "ff00::/8"]);
    const g = gate(newBudgets({ allow, limits: LIMITS }), "udp");
    expect(g.gate.answers(peer, port)).toBe(answered);
    expect([g.counters.denied, g.counters.reflected]).toEqual([
      counted === "denied" ? 1 : 0,
      counted === "reflected" ? 1 : 0,
    ]);
  });
});

describe("mayReply (--udp-reply-rate, --udp-rate, --udp-excess)", () => {
  test("every reply spends the prefix's --udp-reply-rate, whatever its size", () => {
    const g = gate(newBudgets({ limits: LIMITS, udpReplyRate: 5 }), "udp");
    const prefix = sourcePrefix("192.0.2.1");
    const sent = Array.from({ length: 8 }, () => g.gate.mayReply(prefix, 10, 10)).filter(Boolean).length;
    expect(sent).toBe(5);
    expect(g.counters.replyLimited).toBe(3);
  });

  test("a reply larger than its request spends --udp-rate; one no larger does not", () => {
    const g = gate(newBudgets({ limits: LIMITS, udpReplyRate: 0, udpRate: 2 }), "udp");
    const prefix = sourcePrefix("192.0.2.1");
    expect([1, 2, 3].map(() => g.gate.mayReply(prefix, 100, 1))).toEqual([true, true, false]);
    expect(g.gate.mayReply(prefix, 1, 1)).toBe(true);
    expect(g.counters.rateLimited).toBe(1);
  });

  test("--udp-excess bounds what larger replies add, all prefixes together", () => {
    const g = gate(newBudgets({ limits: LIMITS, udpRate: 1000, udpExcess: 250 }), "udp");
    const fits = ["192.0.2.1", "198.51.100.1", "203.0.113.1"].map((a) => g.gate.mayReply(sourcePrefix(a), 101, 1));
    expect(fits).toEqual([true, true, false]);
    expect(g.counters.excessLimited).toBe(1);
  });

  test("the defaults are serve's: 10 larger replies a second to a prefix", () => {
    const g = gate(newBudgets({ limits: LIMITS }), "udp");
    const prefix = sourcePrefix("192.0.2.1");
    const sent = Array.from({ length: 20 }, () => g.gate.mayReply(prefix, 2, 1)).filter(Boolean).length;
    expect(sent).toBe(10);
  });
});

describe("loopback: replies counted an address and port, not a prefix (issue 28)", () => {
  test.each([
    ["127.0.0.1", 40000, true],
    ["127.1.2.3", 40000, true],
    ["::ffff:127.0.0.1", 40000, true],
    ["::1", 40000, true],
    ["192.0.2.1", 40000, false],
    ["::ffff:192.0.2.1", 40000, false],
    ["2001:db8::1", 40000, false],
    ["::", 40000, false],
  ] as const)("%s is %p a local flow", (address, port, local) => {
    expect(loopbackFlow(address, port) !== undefined).toBe(local);
  });

  test("flow keys tell addresses and ports apart, and an IPv4-mapped address from the plain one not at all", () => {
    const keys = [
      loopbackFlow("127.0.0.1", 1),
      loopbackFlow("127.0.0.1", 2),
      loopbackFlow("127.0.0.2", 1),
      loopbackFlow("127.0.1.1", 1),
      loopbackFlow("127.255.255.255", 65535),
      loopbackFlow("::1", 1),
      loopbackFlow("::1", 2),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    expect(loopbackFlow("::ffff:127.0.0.1", 7)).toBe(loopbackFlow("127.0.0.1", 7)!);
  });

  test("each local port has its own --udp-reply-rate; one port (a loop's end) still runs dry", () => {
    const g = gate(newBudgets({ limits: LIMITS, udpReplyRate: 5 }), "udp");
    const prefix = sourcePrefix("127.0.0.1");
    const ask = (port: number) => g.gate.mayReply(prefix, 10, 10, loopbackFlow("127.0.0.1", port));
    const sent = (port: number) => Array.from({ length: 8 }, () => ask(port)).filter(Boolean).length;
    expect([sent(40000), sent(40001), sent(40002)]).toEqual([5, 5, 5]);
    expect(g.counters.replyLimited).toBe(9);
  });

  test("larger replies to local ports still spend the prefix's --udp-rate and the process's --udp-excess", () => {
    const g = gate(newBudgets({ limits: LIMITS, udpRate: 2, udpExcess: 1000 }), "udp");
    const prefix = sourcePrefix("127.0.0.1");
    const larger = [1, 2, 3].map((port) => g.gate.mayReply(prefix, 100, 1, loopbackFlow("127.0.0.1", port)));
    expect(larger).toEqual([true, true, false]);
    expect(g.counters.rateLimited).toBe(1);
    const big = gate(newBudgets({ limits: LIMITS, udpRate: 1000, udpExcess: 150 }), "udp");
    const sizes = [4, 5].map((port) => big.gate.mayReply(prefix, 101, 1, loopbackFlow("127.0.0.1", port)));
    expect(sizes).toEqual([true, false]);
    expect(big.counters.excessLimited).toBe(1);
  });
});
