// serveProtocol with port 0: UDP and TCP end up on one port number, which clients and the ready line assume.
import { afterAll, expect, test } from "bun:test";
import { upper } from "../../src/protocol/upper.ts";
import { serveProtocol } from "../../src/transport/serve.ts";
import { eachUdpEngine } from "./udp-engines.ts";

// Many TCP listeners on ephemeral ports make UDP's first pick collide on TCP now and then, so
// the retry is exercised, not only the common case.
const held: { stop(closeActive?: boolean): void }[] = [];
afterAll(() => held.forEach((l) => l.stop(true)));

eachUdpEngine(() => {
  test("port 0: every UDP+TCP pair shares one port, even while 800 TCP ports are taken", async () => {
    for (let i = 0; i < 800; i++) {
      held.push(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
    }
    for (let i = 0; i < 100; i++) {
      const listeners = await serveProtocol(upper, ["udp", "tcp"], { host: "127.0.0.1", port: 0 });
      try {
        expect(listeners.map((l) => l.transport)).toEqual(["udp", "tcp"]);
        expect(listeners[1]!.port).toBe(listeners[0]!.port);
        expect(listeners[0]!.port).toBeGreaterThan(0);
      } finally {
        listeners.forEach((l) => l.stop());
      }
    }
  });

  test("an explicit port taken on TCP is an EADDRINUSE error and leaves nothing bound", async () => {
    const taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const err = await serveProtocol(upper, ["udp", "tcp"], { host: "127.0.0.1", port: taken.port }).catch((e) => e);
      expect(String(err?.code ?? err)).toContain("EADDRINUSE");
      // The UDP half was released: binding it again works.
      const [udp] = await serveProtocol(upper, ["udp"], { host: "127.0.0.1", port: taken.port });
      expect(udp!.port).toBe(taken.port);
      udp!.stop();
    } finally {
      taken.stop(true);
    }
  });
});
