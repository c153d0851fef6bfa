// `serve --metrics` and `relay --metrics`: the --stats counters on /metrics, summed over --workers, passing promtool.
import type { Subprocess } from "bun";
import { afterEach, expect, test } from "bun:test";
import { fromSource } from "../support/run.ts";
import { terminate, waitFor } from "../support/wait.ts";
import { get, promtoolCheck, type Started, series, startServing, talk } from "./exporters.ts";

const running: Subprocess[] = [];

/** start is startServing, stopped after each test. */
async function start(args: string[]): Promise<Started> {
  const started = await startServing(args);
  running.push(started.proc);
  return started;
}

afterEach(async () => {
  for (const proc of running.splice(0)) await terminate(proc, 5000);
});

/** scrape reads /metrics, checks it with promtool, and returns its series. */
async function scrape(url: string): Promise<Map<string, number>> {
  const r = await get(url);
  expect(r.status).toBe(200);
  expect(r.contentType).toStartWith("text/plain; version=0.0.4");
  expect(promtoolCheck(r.text)).toEqual({ status: 0, said: "" });
  return series(r.text);
}

test("serve --metrics: connections, datagrams and bytes, as --stats counts them", async () => {
  const s = await start(["serve", "--host", "127.0.0.1", "--port", "0", "--metrics", "127.0.0.1:0"]);
  expect(s.lines[1]).toStartWith("upcat: metrics on http://127.0.0.1:");
  for (let i = 0; i < 3; i++) expect(await talk(s.port, "hello\n")).toBe("HELLO\n");
  const udp = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  udp.send("abc", s.port, "127.0.0.1");
  let m = new Map<string, number>();
  await waitFor("the counters of 3 connections and a datagram", async () => {
    m = await scrape(s.metrics);
    return m.get("upcat_server_connections_total") === 3 && m.get("upcat_server_datagrams_out_total") === 1;
  });
  udp.close();
  expect(m.get("upcat_server_bytes_in_total")).toBe(3 * 6 + 3);
  expect(m.get("upcat_server_bytes_out_total")).toBe(3 * 6 + 3);
  expect(m.get("upcat_server_open")).toBe(0);
  expect(m.get("upcat_server_over_limit_total")).toBe(0);
});

test("serve --workers 2 --metrics: the workers' counters summed", async () => {
  const s = await start(["serve", "--tcp", "--host", "127.0.0.1", "--port", "0", "--workers", "2", "--metrics", ":0"]);
  const n = 20;
  for (let i = 0; i < n; i++) expect(await talk(s.port, "x\n")).toBe("X\n");
  await waitFor(
    `${n} connections summed over the workers`,
    async () => (await scrape(s.metrics)).get("upcat_server_connections_total") === n,
    5000,
  );
});

test("relay --metrics: the relay's own tallies beside the server's counters", async () => {
  const target = await start(["serve", "--tcp", "--host", "127.0.0.1", "--port", "0", "--metrics", ":0"]);
  const relay = await start(["relay", "127.0.0.1:0", `127.0.0.1:${target.port}`, "--metrics", "127.0.0.1:0"]);
  expect(await talk(relay.port, "via relay\n")).toBe("VIA RELAY\n");
  let m = new Map<string, number>();
  await waitFor("the relay's counters", async () => {
    m = await scrape(relay.metrics);
    return m.get("upcat_server_connections_total") === 1;
  });
  expect(m.get("upcat_relay_up_forwarded_total")).toBe(10);
  expect(m.get("upcat_relay_down_forwarded_total")).toBe(10);
  expect(m.get("upcat_relay_target_failed_total")).toBe(0);
  expect(m.has("upcat_relay_sessions")).toBe(true);
});

test("--metrics on a port in use fails before serving, saying which", async () => {
  const held = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const proc = Bun.spawn([...fromSource.argv, "serve", "--tcp", "--port", "0", "--metrics", `127.0.0.1:${held.port}`], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    env: { ...fromSource.env, NO_COLOR: "1" },
  });
  running.push(proc);
  const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
  const [status, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  clearTimeout(timer);
  held.stop(true);
  expect(status).toBe(1);
  expect(stderr).toContain(`listen tcp 127.0.0.1:${held.port}: address already in use`);
  expect(stderr).not.toContain("serving");
});

test.each(["udp://127.0.0.1:9", "nope:", "nope", "[::1]:99999"])(
  "--metrics %p is refused (exit 2)",
  async (address) => {
    const proc = Bun.spawn([...fromSource.argv, "serve", "--metrics", address], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
      env: { ...fromSource.env, NO_COLOR: "1" },
    });
    running.push(proc);
    const [status, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    expect(status).toBe(2);
    expect(stderr).toContain("--metrics");
    // One line, and its hint is an HTTP address's, never the target parser's udp:// form.
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(stderr).not.toContain("udp://[");
  },
);

test("--log json says where --metrics serves as an event of its own", async () => {
  const proc = Bun.spawn(
    [...fromSource.argv, "serve", "--tcp", "--host", "127.0.0.1", "--port", "0", "--log", "json", "--metrics", ":0"],
    { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: { ...fromSource.env, NO_COLOR: "1" } },
  );
  running.push(proc);
  const reader = proc.stderr.getReader();
  let text = "";
  const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
  while (!text.includes('"event":"metrics"')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  clearTimeout(timer);
  reader.releaseLock();
  const event = JSON.parse(text.split("\n").find((l) => l.includes('"event":"metrics"'))!);
  expect(event.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  expect((await get(event.url)).status).toBe(200);
});
