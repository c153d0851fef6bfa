// `upcat check` on http:// and https:// targets (issue 13), from source, against real servers on loopback.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jsonRecord, jsonRecords } from "../check/json-records.ts";
import { startHttpPeer, startNotHttp, startSilent, startStaticServer, type HttpPeer } from "../check/http-peers.ts";
import { freePort, requireTool, startPeer } from "../support/peers.ts";
import { fromSource, run, startServer, type Server } from "../support/run.ts";
import { daysFromNow, makeCertificate, type Certificate } from "../verdicts/pki.ts";
import { startNginx, startTlsServer, type Running } from "../verdicts/servers.ts";

const cmd = fromSource;
const dir = mkdtempSync(join(tmpdir(), "upcat-check-http-"));
let peer: HttpPeer;
let peer6: HttpPeer;
let statik: HttpPeer;
let ssh: HttpPeer;
let silent: HttpPeer;
let upper: Server;
let cert: Certificate;
let expired: Certificate;
let nginx: { http: number; https: number; stop(): void };
let sServer: Running;
let sServerExpired: Running;
let closed: number;

beforeAll(async () => {
  cert = makeCertificate(dir, "localhost", daysFromNow(-1), daysFromNow(10));
  expired = makeCertificate(dir, "old.test", daysFromNow(-30), daysFromNow(-2));
  [peer, peer6, statik, upper, nginx, sServer, sServerExpired] = await Promise.all([
    startHttpPeer(),
    startHttpPeer("::1"),
    startStaticServer("<h1>static page</h1>\n"),
    startServer(cmd, ["--tcp", "--port", "0", "--host", "127.0.0.1"]),
    startNginx(mkdtempSync(join(dir, "nginx-")), cert),
    startTlsServer(cert),
    startTlsServer(expired),
  ]);
  ssh = startNotHttp();
  silent = startSilent();
  closed = await freePort();
}, 30_000);

afterAll(async () => {
  for (const p of [peer, peer6, statik, ssh, silent, nginx, sServer, sServerExpired]) p?.stop();
  await upper?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const check = (args: string[], env?: Record<string, string>) =>
  run(cmd, ["check", ...args], { env, timeoutMs: 20_000 });

describe("http:// targets", () => {
  test(
    "a 2xx passes and a 404 or 500 fails, each line with the status; --json has http.status and " + "validates",
    async () => {
      const r = await check([`${peer.base}/status/204`, `${peer.base}/status/404`, `${peer.base}/status/500`]);
      expect(r.status).toBe(1);
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines[0]).toMatch(new RegExp(`^open +${peer.base}/status/204 +[\\d.]+ms  204 No Content$`));
      expect(lines[1]).toMatch(/^mismatch .*\/status\/404 +[\d.]+ms {2}HTTP 404 Not Found; wanted --status 200-299$/);
      expect(lines[2]).toMatch(
        /^mismatch .*\/status\/500 +[\d.]+ms {2}HTTP 500 Internal Server Error; wanted --status 200-299$/,
      );
      const json = jsonRecords((await check(["--json", `${peer.base}/status/200`, `${peer.base}/status/503`])).stdout);
      expect(json[0]).toMatchObject({
        target: `${peer.base}/status/200`,
        proto: "http",
        host: "127.0.0.1",
        address: "127.0.0.1",
        port: peer.port,
        state: "open",
        ok: true,
        http: { status: 200, reason: "OK", redirects: 0 },
      });
      expect(json[1]).toMatchObject({ state: "mismatch", ok: false, http: { status: 503 } });
    },
  );

  test(
    "--status takes codes and ranges: 404 passes under --status 404, 500 under 500-599, not 204 under " + "200,300-399",
    async () => {
      expect((await check(["--quiet", `${peer.base}/status/404`, "--status", "404"])).status).toBe(0);
      expect((await check(["--quiet", `${peer.base}/status/500`, "--status", "200,500-599"])).status).toBe(0);
      const r = await check(["--json", `${peer.base}/status/204`, "--status", "200,300-399"]);
      expect(r.status).toBe(1);
      expect(jsonRecord(r.stdout).error).toBe("HTTP 204 No Content; wanted --status 200,300-399");
    },
  );

  test("--expect and --match read the body; a body without them is a mismatch that shows it", async () => {
    const hit = await check(["--json", `${statik.base}/`, "--expect", "static page", "--match", "^<h1>"]);
    expect(hit.status).toBe(0);
    expect(jsonRecord(hit.stdout)).toMatchObject({
      state: "open",
      reply: "<h1>static page</h1>\n",
      http: { status: 200 },
    });
    const miss = await check(["--json", `${statik.base}/`, "--expect", "dynamic"]);
    expect(miss.status).toBe(1);
    expect(jsonRecord(miss.stdout)).toMatchObject({
      state: "mismatch",
      error: "the body did not match",
      reply: "<h1>static page</h1>\n",
    });
  });

  test("--header repeats and reaches the server; --method and --send (the body, POST unless told) too", async () => {
    const r = await check([
      "--json",
      `${peer.base}/echo`,
      "--header",
      "X-One: 1",
      "--header",
      "X-Two:  two words ",
      "--expect",
      "x-one: 1\nx-two: two words",
    ]);
    expect(jsonRecord(r.stdout).state).toBe("open");
    const ua = await check(["--json", `${peer.base}/echo`, "--expect", "user-agent: upcat/"]);
    expect(jsonRecord(ua.stdout).state).toBe("open");
    const post = await check([
      "--json",
      `${peer.base}/echo`,
      "--send",
      "a=1\\n",
      "--expect",
      "method POST",
      "--match",
      "^body a=1$",
    ]);
    expect(jsonRecord(post.stdout).state).toBe("open");
    const put = await check([
      "--json",
      `${peer.base}/echo`,
      "--method",
      "PUT",
      "--send",
      "x",
      "--expect",
      "method PUT",
    ]);
    expect(jsonRecord(put.stdout).state).toBe("open");
    const head = await check(["--json", `${peer.base}/status/200`, "--method", "HEAD"]);
    expect(jsonRecord(head.stdout)).toMatchObject({ state: "open", http: { status: 200 } });
  });

  test(
    "redirects: a 302 is the answer unless --follow (which follows up to 10, and a 303 after POST becomes " + "GET)",
    async () => {
      const stay = await check(["--json", `${peer.base}/redirect/2`]);
      expect(stay.status).toBe(1);
      expect(jsonRecord(stay.stdout)).toMatchObject({
        state: "mismatch",
        http: { status: 302, location: "/redirect/1", redirects: 0 },
      });
      expect(jsonRecord(stay.stdout).error).toBe(
        "HTTP 302 Found, to /redirect/1 (not followed: add --follow, or --status 302); wanted --status 200-299",
      );
      expect((await check(["--quiet", `${peer.base}/redirect/2`, "--status", "300-399"])).status).toBe(0);
      const follow = await check(["--json", `${peer.base}/redirect/3`, "--follow", "--expect", "arrived"]);
      expect(jsonRecord(follow.stdout)).toMatchObject({
        state: "open",
        reply: "arrived\n",
        http: { status: 200, redirects: 3 },
      });
      const loop = await check(["--json", `${peer.base}/loop`, "--follow"]);
      expect(jsonRecord(loop.stdout)).toMatchObject({ state: "error", http: { status: 302, redirects: 10 } });
      expect(jsonRecord(loop.stdout).error).toStartWith("more than 10 redirects");
      const ftp = await check(["--json", `${peer.base}/to-ftp`, "--follow"]);
      expect(jsonRecord(ftp.stdout)).toMatchObject({
        state: "error",
        error: "HTTP 302 to ftp://127.0.0.1/file, which is not an http:// or https:// URL",
      });
      const seeOther = await check([
        "--json",
        `${peer.base}/see-other`,
        "--follow",
        "--send",
        "x",
        "--expect",
        "method GET",
      ]);
      expect(jsonRecord(seeOther.stdout)).toMatchObject({ state: "open", http: { redirects: 1 } });
    },
  );

  test(
    "--follow keeps Authorization and Cookie on the same host and drops them for another, as curl " + "does",
    async () => {
      const creds = [
        "--follow",
        "--header",
        "Authorization: Bearer s3cret",
        "--header",
        "Cookie: a=1",
        "--header",
        "X-Kept: yes",
      ];
      const near = await check(["--json", `${peer.base}/near`, ...creds, "--expect", "x-kept: yes"]);
      expect(jsonRecord(near.stdout).reply).toContain("authorization: Bearer s3cret\ncookie: a=1\n");
      const away = await check(["--json", `${peer.base}/away`, ...creds, "--expect", "x-kept: yes"]);
      const reply = jsonRecord(away.stdout).reply;
      expect(reply).toContain(`host: localhost:${peer.port}\n`);
      expect(reply).not.toContain("s3cret");
      expect(reply).not.toContain("cookie");
    },
  );

  test("--timeout bounds the whole exchange: slow headers and a body that never matches time out on time", async () => {
    const t0 = performance.now();
    const late = await check(["--json", "--timeout", "400ms", `${peer.base}/slow-headers`]);
    expect(jsonRecord(late.stdout)).toMatchObject({
      state: "timeout",
      ok: false,
      error: "no HTTP response within 400ms",
    });
    const slowBody = await check(["--json", "--timeout", "500ms", `${peer.base}/slow-body`, "--expect", "done"]);
    const rec = jsonRecord(slowBody.stdout);
    expect(rec).toMatchObject({ state: "mismatch", error: "the body did not match within 500ms" });
    expect(rec.reply).toStartWith("tick\n");
    // Both runs together took about their timeouts, not the 3 s each server would have taken.
    expect(performance.now() - t0).toBeLessThan(2900);
    // The text wanted comes early: the check passes without waiting for the rest.
    const early = await check(["--json", "--timeout", "2s", `${peer.base}/slow-body`, "--expect", "tick"]);
    expect(jsonRecord(early.stdout)).toMatchObject({ state: "open", reply: "tick\n" });
    expect(jsonRecord(early.stdout).latency_ms).toBeLessThan(1000);
  });

  test("--expect-prefix: a body that has left it fails at its first chunk, not at --timeout (issue 27)", async () => {
    const differs = await check(["--json", "--timeout", "10s", `${peer.base}/slow-body`, "--expect-prefix", "done"]);
    const rec = jsonRecord(differs.stdout);
    expect(rec).toMatchObject({ state: "mismatch", error: "the body differs from --expect-prefix at byte 0" });
    expect(rec.reply).toStartWith("tick\n");
    expect(rec.latency_ms).toBeLessThan(2000);
    const follows = await check(["--json", "--timeout", "10s", `${peer.base}/slow-body`, "--expect-prefix", "tick"]);
    expect(jsonRecord(follows.stdout)).toMatchObject({ state: "open", reply: "tick\n" });
  });

  test(
    "a connect that never completes (a full accept queue drops the SYN) times out at --timeout, http:// and " +
      "https:// alike",
    async () => {
      // listen(0) and three connections never accepted: the kernel drops every SYN after them. The queue is full
      // once one of them is established (writable).
      const script = `import select, socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
held = []
for _ in range(3):
    c = socket.socket(); c.setblocking(False); c.connect_ex(s.getsockname()); held.append(c)
select.select([], held, [], 5)
print("listening", s.getsockname()[1], flush=True)
time.sleep(60)
`;
      const { proc, match } = await startPeer([requireTool("python3"), "-c", script], /listening (\d+)/);
      try {
        const t0 = performance.now();
        const r = await check([
          "--json",
          "--timeout",
          "600ms",
          `http://127.0.0.1:${match[1]}/`,
          `https://127.0.0.1:${match[1]}/`,
        ]);
        const [plain, secure] = jsonRecords(r.stdout);
        expect(plain).toMatchObject({ state: "timeout", error: "no HTTP response within 600ms" });
        expect(secure).toMatchObject({ state: "timeout", error: "no TLS handshake within 600ms" });
        expect(performance.now() - t0).toBeLessThan(3000);
      } finally {
        proc.kill();
      }
    },
  );

  test(
    "a port that does not speak HTTP fails with a reason, never hangs: a banner, upcat's own server, a silent " +
      "peer, a closed port",
    async () => {
      const t0 = performance.now();
      const r = await check([
        "--json",
        "--timeout",
        "700ms",
        `${ssh.base}/`,
        `http://127.0.0.1:${upper.port}/`,
        `${silent.base}/`,
        `http://127.0.0.1:${closed}/`,
      ]);
      expect(r.status).toBe(1);
      const [banner, echo, quiet, refused] = jsonRecords(r.stdout);
      expect(banner).toMatchObject({
        state: "error",
        error: "the answer is not an HTTP response (does this port speak HTTP?)",
        http: { status: null },
      });
      // upcat's own server sends the request back uppercased: "GET / HTTP/1.1" is no status line.
      expect(echo).toMatchObject({
        state: "error",
        ok: false,
        error: "the answer is not an HTTP response (does this port speak HTTP?)",
      });
      expect(quiet).toMatchObject({ state: "timeout", error: "no HTTP response within 700ms" });
      expect(refused).toMatchObject({ state: "closed", error: "connection refused" });
      expect(performance.now() - t0).toBeLessThan(5000);
    },
  );

  test("IPv6 in brackets, and a name (localhost) resolved by upcat's own address loop", async () => {
    const r = await check(["--json", `${peer6.base}/status/200`, `http://localhost:${peer.port}/status/200`]);
    expect(r.status).toBe(0);
    const [v6, name] = jsonRecords(r.stdout);
    expect(v6).toMatchObject({ host: "::1", address: "::1", state: "open" });
    expect(name).toMatchObject({ host: "localhost", state: "open" });
  });

  test(
    "proxy variables are ignored: with every proxy variable pointing at a closed port, the check still goes " +
      "direct",
    async () => {
      const proxy = `http://127.0.0.1:${closed}`;
      const env = {
        HTTP_PROXY: proxy,
        http_proxy: proxy,
        HTTPS_PROXY: proxy,
        https_proxy: proxy,
        ALL_PROXY: proxy,
        all_proxy: proxy,
        NO_PROXY: "",
        no_proxy: "",
      };
      const r = await check(
        ["--json", `${peer.base}/status/200`, `https://127.0.0.1:${nginx.https}/`, "--ca", cert.cert],
        env,
      );
      expect(r.status).toBe(0);
      expect(jsonRecords(r.stdout).map((x) => x.state)).toEqual(["open", "open"]);
    },
  );

  test(
    "mixed with TCP and UDP targets in one run, in the order given; --wait waits for an HTTP server that comes " +
      "up late",
    async () => {
      const r = await check([
        "--json",
        `127.0.0.1:${upper.port}`,
        `${peer.base}/`,
        `udp://127.0.0.1:${closed}`,
        `https://127.0.0.1:${nginx.https}/`,
        "--ca",
        cert.cert,
      ]);
      expect(r.status).toBe(1);
      expect(jsonRecords(r.stdout).map((x) => [x.proto, x.state])).toEqual([
        ["tcp", "open"],
        ["http", "open"],
        ["udp", "closed"],
        ["https", "open"],
      ]);
      const port = await freePort();
      const later = Bun.sleep(600).then(() =>
        Bun.spawn(["python3", "-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", dir], {
          stdout: "ignore",
          stderr: "ignore",
        }),
      );
      try {
        const w = await check(["--json", "--wait", "10s", `http://127.0.0.1:${port}/`]);
        expect(w.status).toBe(0);
        expect(jsonRecord(w.stdout).attempts).toBeGreaterThan(1);
      } finally {
        (await later).kill();
      }
    },
  );

  test("every try is a fresh connection: --retries 3 on a keep-alive server that answers 500 opens 4", async () => {
    let opens = 0;
    const keepAlive = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open: () => void opens++,
        data: (s) => void s.write("HTTP/1.1 500 Oops\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nno"),
      },
    });
    try {
      const r = await check(["--json", "--retries", "3", `http://127.0.0.1:${keepAlive.port}/`]);
      expect(jsonRecord(r.stdout)).toMatchObject({
        state: "mismatch",
        attempts: 4,
        http: { status: 500, reason: "Oops" },
      });
      expect(opens).toBe(4);
    } finally {
      keepAlive.stop(true);
    }
  });

  test(
    "300 URLs at once (--concurrency 100) against a server with room for them: every one open, in the order " + "given",
    async () => {
      const web = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        fetch: (req) => new Response(new URL(req.url).pathname),
      });
      try {
        const urls = Array.from({ length: 300 }, (_, i) => `http://127.0.0.1:${web.port}/page${i}`);
        const r = await check(["--json", "--match", "^/page\\d+$", ...urls]);
        expect(r.status).toBe(0);
        const records = jsonRecords(r.stdout);
        expect(records.map((x) => x.reply)).toEqual(urls.map((_, i) => `/page${i}`));
      } finally {
        web.stop(true);
      }
    },
  );

  test("nginx: its page passes with --expect, and a HEAD request passes on the status alone", async () => {
    const r = await check(["--json", `http://127.0.0.1:${nginx.http}/`, "--expect", "upcat verdicts"]);
    expect(jsonRecord(r.stdout)).toMatchObject({ state: "open", http: { status: 200 } });
    const head = await check(["--json", `http://127.0.0.1:${nginx.http}/`, "--method", "HEAD"]);
    expect(jsonRecord(head.stdout)).toMatchObject({ state: "open", reply: null, http: { status: 200 } });
  });
});

describe("https:// targets", () => {
  test("nginx and openssl s_server -www with --ca: pass, with the certificate's subject and days left", async () => {
    const r = await check([
      "--json",
      `https://127.0.0.1:${nginx.https}/`,
      `https://localhost:${sServer.port}/`,
      "--ca",
      cert.cert,
      "--expect",
      "upcat verdicts over tls",
    ]);
    const [ngx, ssl] = jsonRecords(r.stdout);
    expect(ngx).toMatchObject({
      state: "open",
      proto: "https",
      http: { status: 200 },
      tls: { subject: "CN=localhost", authorized: true },
    });
    expect(ngx.tls.days_left).toBeOneOf([9, 10]);
    // s_server -www answers with its own status page: the wanted text is not there, so the body is a mismatch.
    expect(ssl).toMatchObject({ state: "mismatch", http: { status: 200 }, tls: { authorized: true } });
    expect(ssl.reply).toContain("s_server");
    expect(r.status).toBe(1);
  });

  test(
    "an untrusted certificate fails unless --insecure; an expired one says so; --cert-days 14 fails 10 days " + "left",
    async () => {
      const untrusted = await check(["--json", `https://127.0.0.1:${sServer.port}/`]);
      expect(jsonRecord(untrusted.stdout)).toMatchObject({ state: "error", ok: false, http: { status: null } });
      expect(jsonRecord(untrusted.stdout).error).toStartWith("certificate not trusted");
      expect((await check(["--quiet", `https://127.0.0.1:${sServer.port}/`, "--insecure"])).status).toBe(0);
      const old = await check(["--json", `https://127.0.0.1:${sServerExpired.port}/`, "--ca", expired.cert]);
      expect(jsonRecord(old.stdout).error).toMatch(/^certificate expired on /);
      const soon = await check(["--json", `https://127.0.0.1:${nginx.https}/`, "--ca", cert.cert, "--cert-days", "14"]);
      expect(jsonRecord(soon.stdout)).toMatchObject({ state: "error", ok: false });
      expect(jsonRecord(soon.stdout).error).toMatch(/^certificate expires in (9|10) days/);
    },
  );

  test("https:// to a plain HTTP port: the TLS handshake fails with a clear reason", async () => {
    const r = await check(["--json", `https://127.0.0.1:${peer.port}/`]);
    expect(r.status).toBe(1);
    expect(jsonRecord(r.stdout)).toMatchObject({ state: "error" });
    expect(jsonRecord(r.stdout).error).toMatch(/^TLS handshake failed: .*\(does this port speak TLS\?\)$/);
  });
});

describe("--nagios on HTTP targets, graded as check_http grades them", () => {
  test.each([
    [
      "/status/200",
      0,
      /^HTTP OK - 200 OK - [\d.]+ second response time on 127\.0\.0\.1 port \d+\|time=[\d.]+s;;;0\.000000;2\.000000\n$/,
    ],
    [
      "/status/404",
      1,
      /^HTTP WARNING - http:\/\/127\.0\.0\.1:\d+\/status\/404 mismatch: HTTP 404 Not Found; wanted --status 200-299\|/,
    ],
    ["/status/503", 2, /^HTTP CRITICAL - .* HTTP 503 Service Unavailable/],
  ])("%s: exit %d", async (path, status, line) => {
    const r = await check(["--nagios", `${peer.base}${path}`]);
    expect(r.stdout).toMatch(line);
    expect(r.status).toBe(status);
  });
});

describe("bad HTTP input: exit 2 (3 under --nagios), one line naming the option, before any traffic", () => {
  test.each([
    [
      ["http://h:1/", "--status", "2xx"],
      'upcat: invalid --status: "2xx" (expected HTTP status codes and ranges from 100 to 599, as in 200,204,300-399)\n',
    ],
    [
      ["http://h:1/", "--status", "300-200"],
      'upcat: invalid --status: "300-200" (expected HTTP status codes and ranges from 100 to 599, as in ' +
        "200,204,300-399)\n",
    ],
    [
      ["http://h:1/", "--status", ""],
      'upcat: invalid --status: "" (expected HTTP status codes and ranges from 100 to 599, as in 200,204,300-399)\n',
    ],
    [
      ["http://h:1/", "--header", "NoColon"],
      `upcat: invalid --header: "NoColon" (expected 'Name: value', as in 'Authorization: Bearer abc')\n`,
    ],
    [
      ["http://h:1/", "--header", "Bad Name: x"],
      `upcat: invalid --header: "Bad Name: x" (expected 'Name: value', as in 'Authorization: Bearer abc')\n`,
    ],
    [
      ["http://h:1/", "--method", "GET /x"],
      'upcat: invalid --method: "GET /x" (expected an HTTP method such as GET, HEAD or POST; ' +
        "CONNECT and TRACE are not checks)\n",
    ],
    [
      ["http://h:1/", "--method", "CONNECT"],
      'upcat: invalid --method: "CONNECT" (expected an HTTP method such as GET, HEAD or POST; CONNECT and TRACE are ' +
        "not checks)\n",
    ],
    [
      ["http://h:1/", "--method", "GET", "--send", "x"],
      "upcat: --send is the request body of an HTTP check; a GET request has none (use --method POST or PUT)\n",
    ],
    [
      ["http://h:1/", "--method", "HEAD", "--expect", "x"],
      "upcat: --expect and --match read the body, and the answer to HEAD has none\n",
    ],
    [["h:1", "--status", "200"], "upcat: --status is for http:// and https:// targets\n"],
    [["h:1", "--follow"], "upcat: --follow is for http:// and https:// targets\n"],
    [["http://h:1/", "--tls"], "upcat: --tls is for host:port targets; write https:// for an HTTPS check\n"],
    [["http://h:1/", "--udp"], "upcat: --udp is for host:port targets; http://h:1/ is checked over TCP\n"],
    [["http://h:1/", "--protocol", "echo"], "upcat: --protocol is for host:port targets, not http://h:1/\n"],
    [["http://h:1/", "--ca", "/etc/hostname"], "upcat: --ca is for TLS checks: add --tls, or check an https:// URL\n"],
    [
      ["http://[::1/"],
      'upcat: invalid target "http://[::1/": not a URL (expected a URL such as http://127.0.0.1:8080/healthz)\n',
    ],
    [
      ["http://h:0/"],
      'upcat: invalid target "http://h:0/": port "0" is not a number from 1 to 65535 (expected a URL such as ' +
        "http://127.0.0.1:8080/healthz)\n",
    ],
    [["ftp://h/"], null],
    [["h:1 --status 200"], 'upcat: in argument "h:1 --status 200": --status is for http:// and https:// targets\n'],
  ])("a malformed HTTP check exits 2 with one line naming the option (case %#)", async (args, message) => {
    const r = await check(args);
    expect(r.stdout).toBe("");
    expect(r.status).toBe(2);
    if (message) expect(r.stderr).toBe(message);
    else expect(r.stderr).toMatch(/^upcat: [^\n]+\n$/);
    const nagios = await check(["--nagios", ...args]);
    expect(nagios.status).toBe(3);
    expect(nagios.stdout).toStartWith("UPCAT UNKNOWN - ");
  });
});

describe("per-target HTTP options on a line", () => {
  test("each line its own --status, --header (repeated) and --follow", async () => {
    const file = join(dir, "web.txt");
    await Bun.write(
      file,
      [
        `${peer.base}/status/404 --status 404`,
        `${peer.base}/echo --header 'X-A: 1' --header 'X-B: 2' --expect 'x-a: 1\\nx-b: 2'`,
        `${peer.base}/redirect/1 --follow`,
        `${peer.base}/redirect/1`,
      ].join("\n"),
    );
    const r = await check(["--json", "--file", file]);
    expect(jsonRecords(r.stdout).map((x) => x.state)).toEqual(["open", "open", "open", "mismatch"]);
    expect(r.status).toBe(1);
  });
});
