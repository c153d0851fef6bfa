// Connection slots (issue 19): one address cannot take them all (--max-per-address), and a connection that trickles a
// byte
// now and then gives its slot back (--max-lifetime), so others are served. Real sockets from several 127.x addresses.
import { afterAll, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { serve, type Serving } from "./support.ts";
import { figure } from "../support/figures.ts";
import { within } from "../support/wait.ts";

const servers: Serving[] = [];
const sockets: Socket[] = [];
afterAll(() => {
  sockets.forEach((s) => s.destroy());
  servers.forEach((s) => s.proc.kill("SIGKILL"));
});

/** Conn is a TCP connection from a chosen local address, with what it received and when it closed. */
interface Conn {
  sock: Socket;
  text(): string;
  closed: Promise<number>;
}

function dial(from: string, port: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    let text = "";
    const closed = Promise.withResolvers<number>();
    const sock = connect({ host: "127.0.0.1", port, localAddress: from, allowHalfOpen: true });
    sockets.push(sock);
    sock.on("data", (d) => (text += d.toString()));
    // The server's FIN is the close that matters here (this side is half-open and would wait for us).
    sock.on("end", () => closed.resolve(performance.now()));
    sock.on("close", () => closed.resolve(performance.now()));
    sock.on("error", () => {});
    sock.once("connect", () => resolve({ sock, text: () => text, closed: closed.promise }));
    sock.once("error", reject);
  });
}

/** ask sends a line, half-closes and resolves with the reply, or "refused/closed" text. */
async function ask(from: string, port: number, message: string): Promise<string> {
  const c = await dial(from, port);
  c.sock.end(message);
  await Promise.race([c.closed, Bun.sleep(3000)]);
  return c.text();
}

test("--max-per-address 5: the 6th to 20th connections from 127.0.0.2 close at once; 127.0.0.3 and 127.0.0.4 are " +
  "served", async () => {
  const server = await serve(["--tcp", "--host", "127.0.0.1", "--port", "0", "--max-per-address", "5"], 1);
  servers.push(server);
  const port = server.ports["upper/tcp"]!;
  const hog = await Promise.all(Array.from({ length: 20 }, () => dial("127.0.0.2", port)));
  const t0 = performance.now();
  // The 15 over the cap are closed by the server at once, without a byte; the 5 it holds stay open.
  const closedAt = await Promise.all(hog.map((c) => Promise.race([c.closed, Bun.sleep(1000).then(() => Infinity)])));
  const closedFast = closedAt.filter((t) => t - t0 < 1000).length;
  expect(closedFast).toBe(15);
  expect(hog.every((c) => c.text() === "")).toBe(true);
  expect(await ask("127.0.0.3", port, "third")).toBe("THIRD");
  expect(await ask("127.0.0.4", port, "fourth")).toBe("FOURTH");
  // One of the five held is served too, and once it has gone 127.0.0.2 may open another.
  const held = hog[closedAt.indexOf(Infinity)]!;
  held.sock.end("held");
  await within("the held connection's reply", held.closed, 3000);
  expect(held.text()).toBe("HELD");
  expect(await ask("127.0.0.2", port, "again")).toBe("AGAIN");
  expect(await server.until((s) => s.per_address === 15, 2000)).toBe(true);
  hog.forEach((c) => c.sock.destroy());
  expect((await server.stop()).status).toBe(0);
}, 20_000);

test("--max-lifetime 1s: 8 addresses trickling a byte every 100ms into every slot are closed after 1s; then a " +
  "newcomer is served", async () => {
  const server = await serve(
    [
      "--tcp",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--max-connections",
      "40",
      "--max-per-address",
      "5",
      "--max-lifetime",
      "1s",
    ],
    1,
  );
  servers.push(server);
  const port = server.ports["upper/tcp"]!;
  // 8 addresses x 5 connections: every slot, each kept busy so --idle-timeout would never fire.
  const tricklers = await Promise.all(Array.from({ length: 40 }, (_, k) => dial(`127.0.1.${1 + (k % 8)}`, port)));
  const opened = performance.now();
  const ticking = setInterval(() => tricklers.forEach((c) => c.sock.writable && c.sock.write("x")), 100);
  try {
    // Every slot is held: a newcomer is turned away now.
    expect(await server.until((s) => s.open === 40, 3000)).toBe(true);
    expect(await ask("127.0.2.1", port, "now?")).toBe("");
    const closed = await within("the tricklers' close", Promise.all(tricklers.map((c) => c.closed)), 5000);
    const first = Math.min(...closed) - opened;
    const last = Math.max(...closed) - opened;
    figure(`slots: 40 tricklers closed between ${Math.round(first)} and ${Math.round(last)} ms after opening`);
    expect(first).toBeGreaterThan(800);
    expect(tricklers.every((c) => /^X+$/.test(c.text()))).toBe(true); // they were served while they lasted
    expect(await ask("127.0.2.1", port, "my turn")).toBe("MY TURN");
    expect(await server.until((s) => s.lifetime_closed === 40, 2000)).toBe(true);
  } finally {
    clearInterval(ticking);
  }
  expect((await server.stop()).status).toBe(0);
}, 20_000);
