// A bound that drops UDP replies is said while it is hit (issue 28): serve writes "dropping replies: <bound> (lift with
// --option)" at most once a second, and send that stops hearing a server that answered says it may be limiting, not
// that none is running. Both read from the stderr of real processes, from source.
import { afterAll, expect, test } from "bun:test";
import { fromSource } from "../support/run.ts";
import { eachUdpEngine, udpEngineEnv } from "../transport/udp-engines.ts";

const started: Bun.Subprocess[] = [];
afterAll(() => {
  for (const p of started) p.kill("SIGKILL");
});

/** Server is `upcat serve --udp` on a free loopback port, its stderr read as it comes. */
interface Server {
  proc: Bun.Subprocess<"ignore", "ignore", "pipe">;
  port: number;
  /** lines are the stderr lines so far, each with when it came (performance.now()). */
  lines: { at: number; text: string }[];
  /** done resolves once stderr has ended. */
  done: Promise<void>;
}

async function serve(args: string[]): Promise<Server> {
  const proc = Bun.spawn([...fromSource.argv, "serve", "--udp", "--host", "127.0.0.1", "--port", "0", ...args], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    env: { ...fromSource.env, NO_COLOR: "1", ...udpEngineEnv() },
  });
  started.push(proc);
  const lines: Server["lines"] = [];
  let ready: (port: number) => void = () => {};
  const port = new Promise<number>((resolve) => (ready = resolve));
  const done = (async () => {
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of proc.stderr) {
      text += decoder.decode(chunk, { stream: true });
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n")) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        lines.push({ at: performance.now(), text: line });
        const m = /udp 127\.0\.0\.1:(\d+)/.exec(line);
        if (m) ready(Number(m[1]));
      }
    }
  })();
  const timeout = Bun.sleep(10_000).then(() => {
    throw new Error(`serve did not start: ${lines.map((l) => l.text).join("\n")}`);
  });
  return { proc, port: await Promise.race([port, timeout]), lines, done };
}

/** flood sends `x` from one socket every `everyMs` for `ms`: one loopback port, one reply bucket. */
async function flood(port: number, ms: number, everyMs = 2): Promise<number> {
  const sock = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data() {}, error() {} } });
  const end = performance.now() + ms;
  let sent = 0;
  while (performance.now() < end) {
    sock.send("x", port, "127.0.0.1");
    sent++;
    await Bun.sleep(everyMs);
  }
  sock.close();
  return sent;
}

eachUdpEngine(() => {
  test("serve says which bound drops replies and how to lift it while it is hit: at most a line a second", async () => {
    const s = await serve(["--udp-reply-rate", "5"]);
    const began = performance.now();
    await flood(s.port, 3500);
    const floodMs = performance.now() - began;
    // A quiet second after the flood: nothing more is said.
    await Bun.sleep(1500);
    s.proc.kill("SIGTERM");
    await s.done;
    const drops = s.lines.filter((l) => l.text.includes("dropping replies"));
    expect(drops.length).toBeGreaterThanOrEqual(2);
    // Said while it ran: the first well before the flood ended, one a second at most, none once it was over.
    expect(drops[0]!.at - began).toBeLessThan(floodMs);
    for (let i = 1; i < drops.length; i++) expect(drops[i]!.at - drops[i - 1]!.at).toBeGreaterThan(900);
    expect(drops.at(-1)!.at - began).toBeLessThan(floodMs + 1100);
    for (const d of drops)
      expect(d.text).toMatch(/^upcat: dropping replies: reply-limited \d+ \(lift with --udp-reply-rate 0\)$/);
    expect(s.lines.at(-1)!.text).toMatch(/stopped \(refused: reply-limited \d+\)$/);
  }, 20_000);

  test("what was dropped in the last second before a stop is said too, before the last line", async () => {
    const s = await serve(["--udp-reply-rate", "5"]);
    await flood(s.port, 100);
    s.proc.kill("SIGTERM");
    await s.done;
    // Before, it was only summed in the last line: the once-a-second line had not come round yet.
    expect(s.lines.slice(1).map((l) => l.text)).toEqual([
      expect.stringMatching(/^upcat: dropping replies: reply-limited \d+ \(lift with --udp-reply-rate 0\)$/),
      expect.stringMatching(/^upcat: SIGTERM: stopped \(refused: reply-limited \d+\)$/),
    ]);
  }, 20_000);

  test("under --workers, each worker says what it dropped in its last second, before the last line", async () => {
    const s = await serve(["--udp-reply-rate", "5", "--workers", "2"]);
    // One source port: the kernel hands all of it to one worker (SO_REUSEPORT hashes the source).
    await flood(s.port, 100);
    s.proc.kill("SIGTERM");
    await s.done;
    const texts = s.lines.map((l) => l.text);
    expect(texts.slice(1)).toEqual([
      expect.stringMatching(
        /^upcat: worker [01]: dropping replies: reply-limited \d+ \(lift with --udp-reply-rate 0\)$/,
      ),
      expect.stringMatching(/^upcat: SIGTERM: stopped \(refused: reply-limited \d+\)$/),
    ]);
  }, 20_000);

  test("a server that drops nothing says nothing beyond its ready and last lines", async () => {
    const s = await serve([]);
    await flood(s.port, 500, 5);
    await Bun.sleep(1200);
    s.proc.kill("SIGTERM");
    await s.done;
    expect(s.lines.map((l) => l.text)).toEqual([
      expect.stringMatching(/^upcat: serving upper on udp/),
      "upcat: SIGTERM: stopped",
    ]);
  }, 20_000);

  test("send that stops hearing a server which answered says it may be limiting, not that none runs", async () => {
    const s = await serve(["--udp-reply-rate", "5"]);
    // The client's engine as the server's: send's window goes through libc too unless UPCAT_UDP_ENGINE=bun.
    const env = udpEngineEnv();
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}\n`).join("");
    const send = Bun.spawn(
      [...fromSource.argv, "send", "--udp", "--retries", "0", "--timeout", "300ms", `127.0.0.1:${s.port}`],
      { stdin: new Blob([lines]), stdout: "pipe", stderr: "pipe", env: { ...fromSource.env, NO_COLOR: "1", ...env } },
    );
    started.push(send);
    const [out, err, status] = await Promise.all([
      new Response(send.stdout).text(),
      new Response(send.stderr).text(),
      send.exited,
    ]);
    const answered = out.split("\n").filter(Boolean).length;
    expect(status).toBe(1);
    // Each of the 64 sockets of the window has its own bucket of 5 on loopback: replies came, then stopped.
    expect(answered).toBeGreaterThan(0);
    expect(answered).toBeLessThan(2000);
    expect(err).toMatch(/^upcat: read udp 127\.0\.0\.1:\d+: no reply after 1 try of 300ms \(the server answered \d+/);
    expect(err).toContain("it may be limiting replies to this client; try --retries or --timeout)");
    expect(err).not.toContain("is a server running there?");
    // The server's line comes within its second.
    await Bun.sleep(1100);
    s.proc.kill("SIGTERM");
    await s.done;
    expect(s.lines.some((l) => l.text.startsWith("upcat: dropping replies: reply-limited"))).toBe(true);

    // One that never answered still asks whether a server runs (nothing there: ICMP says so at once).
    const none = Bun.spawnSync(
      [...fromSource.argv, "send", "--udp", "--retries", "0", "--timeout", "300ms", `127.0.0.1:${s.port}`, "hi"],
      { env: { ...fromSource.env, NO_COLOR: "1", ...env } },
    );
    expect(none.stderr.toString()).not.toContain("may be limiting");
  }, 20_000);
});
