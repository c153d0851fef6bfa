// redis://, memcached://, smtp:// and ssh:// against Debian's own servers on loopback, beside each service's own
// tool as the oracle (redis-cli, memcached's reply through nc, check_smtp, check_ssh): upcat's verdict must agree.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { fromSource, run } from "../../support/run.ts";
import { startMemcached, startRedis, startSshd } from "../../verdicts/servers.ts";
import { check, plugin, redisCli, type Running, startExim, startHttp, startLoadingRedis, tempDir } from "./servers.ts";

const PASSWORD = "s3cret";
const running: Running[] = [];
const keep = <T extends Running>(r: T) => (running.push(r), r);
const dirs = tempDir("services");
let redis: Running;
let redisAuth: Running;
let memcached: Running;
let sshd: Running;
let exim: Running;
let eximRefusing: Running;
let http: Running;

beforeAll(async () => {
  const sub = (name: string) => {
    const path = join(dirs.dir, name);
    Bun.spawnSync(["mkdir", "-p", path]);
    return path;
  };
  // Every start is waited for, so a failed one leaves none running that afterAll would miss.
  const started = await Promise.allSettled([
    startRedis(sub("redis")).then(keep),
    startRedis(sub("redis-auth"), PASSWORD).then(keep),
    startMemcached().then(keep),
    startSshd(sub("sshd")).then(keep),
    startExim(sub("exim")).then(keep),
    startExim(sub("exim-refusing"), "no mail today, try later").then(keep),
    startHttp(sub("www")).then(keep),
  ]);
  const failed = started.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
  const up = started.map((s) => (s as PromiseFulfilledResult<Running>).value);
  [redis, redisAuth, memcached, sshd, exim, eximRefusing, http] = up as [
    Running,
    Running,
    Running,
    Running,
    Running,
    Running,
    Running,
  ];
}, 30_000);

afterAll(() => {
  for (const r of running) r.stop();
  dirs.remove();
});

const at = (scheme: string, port: number, rest = "") => `${scheme}://127.0.0.1:${port}${rest}`;

describe("redis", () => {
  test("PING → PONG, as redis-cli ping says", async () => {
    expect(redisCli(redis.port, ["ping"])).toBe("PONG");
    const { status, record } = await check([at("redis", redis.port)]);
    expect({ status, state: record.state, reply: record.reply }).toEqual({ status: 0, state: "open", reply: "PONG" });
  }, 30_000);

  test("with requirepass and no password: auth_required, naming where a password comes from", async () => {
    expect(redisCli(redisAuth.port, ["ping"])).toMatch(/^NOAUTH/);
    const { status, record, cause } = await check([at("redis", redisAuth.port)]);
    expect(status).toBe(1);
    expect(record.state).toBe("error");
    expect(cause).toBe("auth_required");
    expect(record.error).toContain("NOAUTH");
    expect(record.error).toContain("--password-file");
    expect(record.error).toContain("REDISCLI_AUTH");
  }, 30_000);

  test("the password from the URL, REDISCLI_AUTH or --password-file, with a db: PONG, never shown", async () => {
    expect(redisCli(redisAuth.port, ["-n", "3", "ping"], PASSWORD)).toBe("PONG");
    const url = await check([`redis://:${PASSWORD}@127.0.0.1:${redisAuth.port}/3`]);
    expect(url.status).toBe(0);
    expect(url.record.state).toBe("open");
    expect(JSON.stringify(url.record)).not.toContain(PASSWORD);
    const env = await check([at("redis", redisAuth.port, "/3")], { REDISCLI_AUTH: PASSWORD });
    expect(env.record.state).toBe("open");
    const file = join(dirs.dir, "password");
    await Bun.write(file, `${PASSWORD}\n`);
    const fromFile = await check([at("redis", redisAuth.port), "--password-file", file]);
    expect(fromFile.record.state).toBe("open");
    // ACL form: user and password.
    const acl = await check([`redis://default:${PASSWORD}@127.0.0.1:${redisAuth.port}`]);
    expect(acl.record.state).toBe("open");
  }, 30_000);

  test("a wrong password: auth_failed with the server's WRONGPASS", async () => {
    expect(redisCli(redisAuth.port, ["ping"], "wrong")).toMatch(/WRONGPASS/);
    const { status, record, cause } = await check([`redis://:wrong@127.0.0.1:${redisAuth.port}`]);
    expect(status).toBe(1);
    expect(cause).toBe("auth_failed");
    expect(record.error).toContain("WRONGPASS");
  }, 30_000);

  test("redis:// at sshd, memcached and an HTTP server: a mismatch naming what answered, never open", async () => {
    const cases = [
      { port: sshd.port, named: /an SSH server answered "SSH-2\.0-OpenSSH/ },
      { port: memcached.port, named: /a memcached server answered "ERROR"/ },
      { port: http.port, named: /^an HTTP server answered/ },
    ];
    for (const c of cases) {
      const { status, record, cause } = await check([at("redis", c.port), "--timeout", "5s"]);
      expect({ status, state: record.state, cause }).toEqual({
        status: 1,
        state: "mismatch",
        cause: "wrong_service",
      });
      expect(record.error).toMatch(c.named);
      expect(record.latency_ms).toBeLessThan(3000);
    }
  }, 30_000);
});

describe("redis loading a dataset", () => {
  let loading: Running | undefined;
  const dir = tempDir("redis-loading");
  afterAll(() => {
    loading?.stop();
    dir.remove();
  });

  test("-LOADING is not_ready at once, in its words; --wait passes once redis-cli ping says PONG", async () => {
    loading = await startLoadingRedis(dir.dir, PASSWORD);
    const started = performance.now();
    const { status, record, cause } = await check([at("redis", loading.port), "--timeout", "10s"], {
      REDISCLI_AUTH: PASSWORD,
    });
    const oracle = redisCli(loading.port, ["ping"], PASSWORD);
    // Still loading when both asked: the test's premise.
    expect(oracle).toMatch(/^LOADING/);
    expect(status).toBe(1);
    expect(record.state).toBe("not_ready");
    expect(cause).toBe("not_ready");
    expect(record.error).toMatch(/^LOADING Redis is loading the dataset in memory/);
    // Decided when the reply came, not at --timeout.
    expect(record.latency_ms).toBeLessThan(2000);
    expect(performance.now() - started).toBeLessThan(8000);
    // A bare port with --expect-prefix is decided at the same reply too (issue 27, item 2), where --expect would wait.
    const bare = await run(fromSource, [
      ...["check", "--json", "--timeout", "10s", `127.0.0.1:${loading.port}`],
      ...["--send", "PING\\r\\n", "--expect-prefix", "+PONG"],
    ]);
    const said = JSON.parse(bare.stdout.split("\n")[0]!);
    expect(said).toMatchObject({ state: "mismatch", error: "the reply differs from --expect-prefix at byte 0" });
    expect(said.reply).toMatch(/^-(LOADING|NOAUTH)/);
    expect(said.latency_ms).toBeLessThan(2000);
    // --wait: the client runs only once the oracle says PONG.
    const waited = await check([at("redis", loading.port), "--wait", "60s"], { REDISCLI_AUTH: PASSWORD }, 70_000);
    expect(waited.status).toBe(0);
    expect(waited.record.state).toBe("open");
    expect(redisCli(loading.port, ["ping"], PASSWORD)).toBe("PONG");
  }, 90_000);
});

describe("memcached", () => {
  test("version → VERSION x, the same line nc gets", async () => {
    const nc = Bun.spawnSync(["nc", "-q", "1", "127.0.0.1", String(memcached.port)], {
      stdin: new TextEncoder().encode("version\r\nquit\r\n"),
    });
    const own = nc.stdout.toString().split("\r\n")[0]!;
    expect(own).toMatch(/^VERSION 1\./);
    const { status, record } = await check([at("memcached", memcached.port)]);
    expect({ status, state: record.state, reply: record.reply }).toEqual({ status: 0, state: "open", reply: own });
  }, 30_000);

  test("memcached:// at redis: a mismatch naming redis", async () => {
    const { status, record, cause } = await check([at("memcached", redis.port)]);
    expect({ status, state: record.state, cause }).toEqual({
      status: 1,
      state: "mismatch",
      cause: "wrong_service",
    });
    expect(record.error).toMatch(/^a redis server answered "-ERR/);
  }, 30_000);
});

describe("smtp", () => {
  test("exim's 220 greeting, EHLO and QUIT: open, as check_smtp says OK", async () => {
    const oracle = await plugin("check_smtp", ["-H", "127.0.0.1", "-p", String(exim.port)]);
    expect(oracle.output).toMatch(/^SMTP OK/);
    const { status, record } = await check([at("smtp", exim.port), "--expect", "ESMTP Exim"]);
    expect({ status, state: record.state }).toEqual({ status: oracle.status, state: "open" });
    expect(record.reply).toMatch(/^220 upcat\.test ESMTP Exim/);
    expect(record.reply).toMatch(/^250-upcat\.test Hello/m);
  }, 30_000);

  test("a refusing greeting is not_ready in the server's words; check_smtp fails too", async () => {
    const oracle = await plugin("check_smtp", ["-H", "127.0.0.1", "-p", String(eximRefusing.port)]);
    expect(oracle.status).not.toBe(0);
    const { status, record, cause } = await check([at("smtp", eximRefusing.port)]);
    expect({ status, state: record.state, cause }).toEqual({
      status: 1,
      state: "not_ready",
      cause: "not_ready",
    });
    expect(record.error).toBe("no mail today, try later");
    expect(record.reply).toMatch(/^5\d\d no mail today/);
  }, 30_000);

  test("smtp:// at sshd: a mismatch naming the SSH server", async () => {
    const oracle = await plugin("check_smtp", ["-H", "127.0.0.1", "-p", String(sshd.port), "-t", "3"]);
    expect(oracle.status).not.toBe(0);
    const { status, record, cause } = await check([at("smtp", sshd.port)]);
    expect({ status, state: record.state, cause }).toEqual({
      status: 1,
      state: "mismatch",
      cause: "wrong_service",
    });
    expect(record.error).toMatch(/^an SSH server answered/);
  }, 30_000);
});

describe("ssh", () => {
  test("the SSH-2.0 banner: open, as check_ssh says OK, with the banner as the reply", async () => {
    const oracle = await plugin("check_ssh", ["-H", "127.0.0.1", "-p", String(sshd.port)]);
    expect(oracle.output).toMatch(/^SSH OK - OpenSSH/);
    const { status, record } = await check([at("ssh", sshd.port), "--match", "^SSH-2\\.0-OpenSSH"]);
    expect({ status, state: record.state }).toEqual({ status: 0, state: "open" });
    expect(record.reply).toMatch(/^SSH-2\.0-OpenSSH_\S+/);
    // check_ssh names the same server software.
    expect(oracle.output).toContain(record.reply.replace(/^SSH-2\.0-/, "").split(" ")[0]);
  }, 30_000);

  test("ssh:// at an HTTP server, exim and redis: a mismatch naming what answered; check_ssh fails too", async () => {
    const cases = [
      { port: http.port, named: /^an HTTP server answered/ },
      { port: exim.port, named: /^an SMTP \(or FTP\) server answered "220 upcat\.test/ },
      { port: redis.port, named: /^a redis server answered "-ERR unknown command/ },
    ];
    for (const c of cases) {
      const oracle = await plugin("check_ssh", ["-H", "127.0.0.1", "-p", String(c.port), "-t", "3"]);
      expect(oracle.status).not.toBe(0);
      const { status, record, cause } = await check([at("ssh", c.port), "--timeout", "5s"]);
      expect({ status, state: record.state, cause }).toEqual({
        status: 1,
        state: "mismatch",
        cause: "wrong_service",
      });
      expect(record.error).toMatch(c.named);
    }
  }, 30_000);
});

describe("network failures are outcomes", () => {
  test("a closed port is closed for every scheme", async () => {
    for (const scheme of ["redis", "memcached", "smtp", "ssh", "amqp"]) {
      const free = await closedPort();
      const { status, record, cause } = await check([at(scheme, free)]);
      expect({ scheme, status, state: record.state, cause }).toEqual({
        scheme,
        status: 1,
        state: "closed",
        cause: "refused",
      });
    }
  }, 30_000);

  test("a silent server is a timeout at --timeout", async () => {
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      for (const scheme of ["redis", "memcached", "smtp", "ssh", "amqp"]) {
        const { record, cause } = await check([at(scheme, silent.port), "--timeout", "300ms"]);
        expect({ scheme, state: record.state, cause }).toEqual({
          scheme,
          state: "timeout",
          cause: "timeout",
        });
      }
    } finally {
      silent.stop(true);
    }
  }, 30_000);
});

/** closedPort is a loopback port that was just let go: nothing listens there. */
async function closedPort(): Promise<number> {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}
