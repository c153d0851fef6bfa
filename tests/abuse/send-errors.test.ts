// A reply to a closed port (ICMP port unreachable, reported on the server's next send) must not cost another peer its
// reply:
// a refused datagram in a sendmmsg batch is retried alone and the rest of the batch still goes (issue 19).
import { afterAll, expect, test } from "bun:test";
import { forge, serve, type Serving } from "./support.ts";
import { figure } from "../support/figures.ts";
import { eachUdpEngine } from "../transport/udp-engines.ts";

/**
 * kernelDrops is how many datagrams the kernel dropped on arrival at the UDP sockets bound to these
 * local ports (a full receive buffer on a busy machine), from the drops column of /proc/net/udp: loss
 * that is not the server's doing, so the test can tell it from a reply the server failed to send.
 */
async function kernelDrops(ports: number[]): Promise<number> {
  const text = await Bun.file("/proc/net/udp").text();
  let drops = 0;
  for (const line of text.trim().split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    const port = parseInt(cols[1]!.split(":")[1]!, 16);
    if (ports.includes(port)) drops += Number(cols[cols.length - 1]);
  }
  return drops;
}

let server: Serving | undefined;
afterAll(() => server?.proc.kill("SIGKILL"));

const REQUESTS = 4000;
const WINDOW = 16;

eachUdpEngine(() => {
  test("while another address sends 20 000 datagrams from 100 closed ports, a normal client loses none of its " +
    "replies", async () => {
    // The budgets are not what this test is about: lift the per-prefix one so every datagram is answered.
    server = await serve(["--udp", "--host", "127.0.0.1", "--port", "0", "--udp-reply-rate", "0"], 1);
    const port = server.ports["upper/udp"]!;
    const seen = new Set<string>();
    let wake: (() => void) | undefined;
    const client = await Bun.udpSocket({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(_s, d) {
          seen.add(new TextDecoder().decode(d));
          wake?.();
        },
        error() {},
      },
    });
    // Nothing is bound on ports 20001-20100 of 127.0.5.x: each reply there comes back as ICMP port unreachable.
    const closed = Array.from({ length: 100 }, (_, k) => ({
      src: `127.0.5.${1 + k}`,
      sport: 20001 + k,
      payload: "6869",
      count: 200,
    }));
    let flooding = true;
    const flood = forge({ dst: "127.0.0.1", dport: port, items: closed, rate: 10_000, seconds: 15 }).finally(
      () => (flooding = false),
    );
    let lost = 0;
    let requests = 0;
    // Requests in windows of 16, each window waiting (up to a second) for its replies, for as long as the flood runs.
    for (let first = 0; first < REQUESTS || flooding; first += WINDOW) {
      requests += WINDOW;
      const want: string[] = [];
      for (let k = first; k < first + WINDOW; k++) {
        client.send(`request ${k}`, port, "127.0.0.1");
        want.push(`REQUEST ${k}`);
      }
      const end = performance.now() + 1000;
      while (!want.every((w) => seen.has(w)) && performance.now() < end) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 20);
        });
      }
      lost += want.filter((w) => !seen.has(w)).length;
    }
    const { sent } = await flood;
    const drops = await kernelDrops([port, client.port]);
    await server.until((s) => (s.datagrams_in ?? 0) >= requests + sent * 0.9, 2000);
    const stats = server.stats();
    client.close();
    figure(
      `send-errors: ${requests} requests, ${lost} lost (kernel receive drops ${drops}); ${sent} forged from closed ` +
        `ports, ` +
        `server in ${stats.datagrams_in} out ${stats.datagrams_out} send_failed ${stats.send_failed}`,
    );
    expect(sent).toBe(20_000); // the closed-port traffic did run, all of it while the client asked
    // Every reply the server was sent a request for went out: any loss is the kernel's, on arrival (none, usually).
    expect(lost).toBeLessThanOrEqual(drops);
    expect((await server.stop()).status).toBe(0);
  }, 40_000);
});
