// Forged datagrams that would start reflection loops (issue 19): the server never answers itself, another port it
// serves or a
// listed service port, and a loop through another server on unlisted ports runs dry within --udp-reply-rate.
import { afterAll, expect, test } from "bun:test";
import { cpuSeconds, forge, serve, udpAsk, type Serving } from "./support.ts";
import { figure } from "../support/figures.ts";
import { eachUdpEngine } from "../transport/udp-engines.ts";

const started: Serving[] = [];
afterAll(() => started.forEach((s) => s.proc.kill("SIGKILL")));

/** settled waits until a server's datagrams out stop changing for quietMs, and says whether they did within ms. */
async function settled(server: Serving, quietMs: number, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  let last = server.stats().datagrams_out;
  let since = performance.now();
  while (performance.now() < end) {
    await Bun.sleep(50);
    const now = server.stats().datagrams_out;
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) return true;
  }
  return false;
}

eachUdpEngine(() => {
  test("forged loops are refused or bounded; the server still serves and stops on SIGTERM", async () => {
    // Refused: self, upper<->echo on one server, port 12000 and service ports. Bounded (1000/s a /24): chargen<->echo
    // across two servers.
    const a = await serve(["--udp", "--host", "127.0.0.1", "--protocol", "upper=0", "--protocol", "echo=0"], 2);
    started.push(a);
    const b = await serve(["--udp", "--host", "127.0.0.1", "--protocol", "chargen=0"], 1);
    started.push(b);
    const upper = a.ports["upper/udp"]!;
    const echo = a.ports["echo/udp"]!;
    const chargen = b.ports["chargen/udp"]!;
    const hello = Buffer.from("hello").toString("hex");

    // Each of these, answered, starts a loop that never ends (the uppercase server answering itself ran
    // at ~115k datagrams a second before this bound). 500 forged datagrams in all, none may be answered.
    await forge({
      dst: "127.0.0.1",
      dport: upper,
      items: [
        { src: "127.0.0.1", sport: upper, payload: hello, count: 100 }, // itself
        { src: "127.0.0.1", sport: echo, payload: hello, count: 100 }, // its own echo service
        { src: "127.0.0.1", sport: 12000, payload: hello, count: 100 }, // another upcat on the default port
        ...[53, 123, 1900, 11211].map((sport) => ({ src: "127.0.0.1", sport, payload: hello, count: 25 })),
      ],
      rate: 5000, // paced, so that the server's socket buffer drops none on a busy machine
    });
    await forge({
      dst: "127.0.0.1",
      dport: echo,
      items: [{ src: "127.0.0.1", sport: upper, payload: hello, count: 100 }],
      rate: 5000,
    });
    await a.until((s) => s.datagrams_in === 500, 3000);
    // Every one that arrived was refused, and nothing went out.
    expect(a.stats().datagrams_in).toBeGreaterThanOrEqual(450);
    expect(a.stats().reflection).toBe(a.stats().datagrams_in!);
    expect(a.stats().datagrams_out).toBe(0);
    const refusedBeforeLoop = a.stats().reflection!;

    // chargen (B) <-> echo (A) on ports neither refuses: 100 loops at once. Every reply spends the /24's
    // budget (1000 a second, a second's burst), and a loop dies at its first unanswered datagram.
    const loopStart = performance.now();
    await forge({
      dst: "127.0.0.1",
      dport: chargen,
      items: [{ src: "127.0.0.1", sport: echo, payload: "", count: 100 }],
    });
    expect(await settled(a, 500, 8000)).toBe(true);
    expect(await settled(b, 500, 2000)).toBe(true);
    const seconds = (performance.now() - loopStart) / 1000;
    const bound = 1000 + 1000 * seconds;
    const [outA, outB] = [a.stats().datagrams_out!, b.stats().datagrams_out!];
    figure(
      `reflection: chargen<->echo loop ran ${outB} + ${outA} replies, ended within ${seconds.toFixed(2)} s (bound ` +
        `${Math.round(bound)} each)`,
    );
    expect(outB).toBeGreaterThanOrEqual(100); // the loops did start: the test sees what it bounds
    expect(outA).toBeLessThanOrEqual(bound);
    expect(outB).toBeLessThanOrEqual(bound);
    expect(a.stats().reply_limited! + b.stats().reply_limited!).toBeGreaterThan(0);

    // Quiet now: at most a fifth of a core over a second (an answering loop took 80%); that second is measured.
    const cpu0 = await cpuSeconds(a.proc.pid);
    await Bun.sleep(1000);
    expect((await cpuSeconds(a.proc.pid)) - cpu0).toBeLessThan(0.2);

    // A client in another /24 is answered at once; then SIGTERM stops the server.
    expect(await udpAsk("127.0.1.1", upper, "still serving")).toBe("STILL SERVING");
    const stoppedA = await a.stop();
    const stoppedB = await b.stop();
    expect([stoppedA.status, stoppedB.status]).toEqual([0, 0]);
    expect(stoppedA.stopped.reflection).toBe(refusedBeforeLoop);
  }, 30_000);
});
