// `upcat check ... -- CMD` (issue 13): CMD runs once every target passes, with upcat's stdio, signals passed on, its
// status as upcat's.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jsonRecords } from "../check/json-records.ts";
import { freePort, requireTool } from "../support/peers.ts";
import { fromSource, run, type Command } from "../support/run.ts";
import { childrenOf, waitFor, within } from "../support/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "upcat-check-exec-"));
let open: { port: number; stop(closeActive?: boolean): void };
let closed: number;
let n = 0;
const fresh = (name: string) => join(dir, `${name}-${++n}`);

beforeAll(async () => {
  open = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  closed = await freePort();
});
afterAll(() => {
  open.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

/** waitForFile waits until a file has been written (the child says it is ready), and returns what it says. */
async function waitForFile(path: string, ms = 10_000): Promise<string> {
  await waitFor(`${path} to be written`, () => existsSync(path) && readFileSync(path, "utf8") !== "", ms);
  return readFileSync(path, "utf8");
}

/** catches says whether a process has a handler installed for a signal (its SigCgt mask in /proc). */
function catches(pid: number, signal: number): boolean {
  const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "0";
  return (BigInt(`0x${mask}`) & (1n << BigInt(signal - 1))) !== 0n;
}

/** a child that says it is ready, then records the first of INT, TERM or HUP it receives and exits 0. */
const trapper = (ready: string, got: string) =>
  `for s in INT TERM HUP; do trap "echo $s > ${got}; exit 0" $s; done; echo $$ $PPID > ${ready}; while :; do sleep ` +
  `0.02; done`;

function spawnUpcat(cmd: Command, args: string[]) {
  return Bun.spawn([...cmd.argv, "check", ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...cmd.env, NO_COLOR: "1" },
  });
}

describe("upcat check -- CMD", () => {
  test(
    "every target passes: CMD runs with upcat's stdin and stdout; upcat's own lines go to stderr; CMD's status " +
      "is upcat's",
    async () => {
      const r = await run(
        fromSource,
        ["check", `127.0.0.1:${open.port}`, "--", "sh", "-c", "cat; echo to-stderr >&2; exit 7"],
        { stdin: "hello\nworld\n" },
      );
      expect(r.stdout).toBe("hello\nworld\n");
      expect(r.stderr).toMatch(
        new RegExp(
          `^open +tcp://127\\.0\\.0\\.1:${open.port} +[\\d.]+ms\\n1 of 1 target passed \\(1 open\\) in ` +
            `[\\d.]+s\\nto-stderr\\n$`,
        ),
      );
      expect(r.status).toBe(7);
      const zero = await run(fromSource, ["check", "--quiet", `127.0.0.1:${open.port}`, "--", "true"]);
      expect(zero).toMatchObject({ status: 0, stdout: "", stderr: "" });
    },
  );

  test("arguments reach CMD exactly as typed: spaces, an empty word, -- and options of upcat's own", async () => {
    const r = await run(fromSource, [
      "check",
      "--quiet",
      `127.0.0.1:${open.port}`,
      "--",
      "printf",
      "[%s]",
      "a b",
      "",
      "--",
      "--json",
      "007",
    ]);
    expect(r).toMatchObject({ status: 0, stdout: "[a b][][--][--json][007]" });
  });

  test("a check fails: CMD is not run and the status is 1; --wait running out is 124", async () => {
    const marker = fresh("ran");
    const failed = await run(fromSource, ["check", `127.0.0.1:${closed}`, "--", "touch", marker]);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain("upcat: not running touch: not every target passed\n");
    const waited = await run(fromSource, [
      "check",
      "--wait",
      "300ms",
      `127.0.0.1:${open.port}`,
      `127.0.0.1:${closed}`,
      "--",
      "touch",
      marker,
    ]);
    expect(waited.status).toBe(124);
    expect(waited.stderr).toContain("upcat: not running touch: --wait ran out before every target passed\n");
    const json = await run(fromSource, ["check", "--json", "--wait", "200ms", `127.0.0.1:${closed}`]);
    expect(json.status).toBe(124);
    expect(jsonRecords(json.stdout)[0]).toMatchObject({ state: "closed", ok: false });
    expect(existsSync(marker)).toBe(false);
  });

  test("--wait then run: CMD starts once a server that comes up late accepts", async () => {
    const port = await freePort();
    let late: Bun.TCPSocketListener | undefined;
    try {
      const r = await changeWhileWaiting(["--wait", "10s", `127.0.0.1:${port}`, "--", "echo", "started"], () => {
        late = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
      });
      expect(r).toMatchObject({ status: 0, stdout: "started\n" });
      expect(r.stderr).toMatch(/after \d+ tries/);
    } finally {
      late?.stop(true);
    }
  });

  test.each([
    ["no-such-command-upcat", 127, "upcat: no-such-command-upcat: command not found\n"],
    ["/no/such/program", 127, "upcat: /no/such/program: no such file\n"],
    ["{dir}/text.txt", 126, "upcat: {dir}/text.txt: permission denied (not an executable file)\n"],
    ["{dir}/data.bin", 126, "upcat: {dir}/data.bin: cannot execute (not a program nor a script with #!)\n"],
  ])("CMD %s cannot start: exit %d with one line, as a shell says it", async (command, status, line) => {
    writeFileSync(join(dir, "text.txt"), "not a program\n", { mode: 0o644 });
    writeFileSync(join(dir, "data.bin"), "\x01\x02 not a program\n", { mode: 0o755 });
    const r = await run(fromSource, [
      "check",
      "--quiet",
      `127.0.0.1:${open.port}`,
      "--",
      command.replace("{dir}", dir),
    ]);
    line = line.replace("{dir}", dir);
    expect(r).toMatchObject({ status, stdout: "", stderr: line });
  });

  test("CMD killed by a signal: 128 + its number", async () => {
    const r = await run(fromSource, ["check", "--quiet", `127.0.0.1:${open.port}`, "--", "sh", "-c", "kill -KILL $$"]);
    expect(r.status).toBe(137);
  });

  test.each(["SIGTERM", "SIGINT", "SIGHUP"] as const)(
    "%s sent to upcat reaches CMD, and upcat waits for it and exits with its status",
    async (signal) => {
      const [ready, got] = [fresh("ready"), fresh("got")];
      const proc = spawnUpcat(fromSource, ["--quiet", `127.0.0.1:${open.port}`, "--", "sh", "-c", trapper(ready, got)]);
      await waitForFile(ready);
      proc.kill(signal);
      expect(await proc.exited).toBe(0);
      expect(readFileSync(got, "utf8")).toBe(`${signal.slice(3)}\n`);
    },
  );

  test("SIGTERM the moment CMD has started still reaches CMD (10 rounds, each signalled at once)", async () => {
    // Before, upcat caught the signals only after the spawn had returned, and CMD could be up (and upcat signalled)
    // first: upcat died of the SIGTERM, 143, in 6 of 20 rounds like these (a CI run once failed on it).
    const ready = fresh("ready");
    // CMD stops by itself after about 10 s: one that outlived upcat (the failure) must not be left behind.
    const cmd =
      `for s in INT TERM HUP; do trap "exit 0" $s; done; echo up > ${ready}; ` +
      "i=0; while [ $i -lt 500 ]; do sleep 0.02; i=$((i+1)); done";
    const rounds = `for i in $(seq 10); do
  rm -f ${ready}
  "$@" check --quiet 127.0.0.1:${open.port} -- sh -c '${cmd}' >/dev/null 2>&1 & up=$!
  until [ -s ${ready} ] || [ $SECONDS -gt 20 ]; do :; done
  kill -TERM $up; wait $up; echo -n "$? "
done`;
    const proc = Bun.spawn(["bash", "-c", rounds, "rounds", ...fromSource.argv], {
      stdout: "pipe",
      stderr: "inherit",
      env: { ...fromSource.env, NO_COLOR: "1" },
    });
    const out = await new Response(proc.stdout).text();
    expect(await proc.exited).toBe(0);
    expect(out.trim()).toBe(Array(10).fill("0").join(" "));
  }, 30_000);

  test("SIGINT amid a scan of every port of this host ends it at once: 130, and CMD never runs", async () => {
    // A loopback port check is decided without a turn of the event loop; 65535 of them take about a second, which
    // a Ctrl-C must not wait out.
    const ran = fresh("ran");
    const proc = spawnUpcat(fromSource, ["127.0.0.1:1-65535", "--", "sh", "-c", `touch ${ran}`]);
    // Once the scan has begun: its first lines are out (on stderr, as stdout is CMD's).
    const reader = proc.stderr.getReader();
    let said = new TextDecoder().decode((await reader.read()).value);
    const t0 = performance.now();
    proc.kill("SIGINT");
    expect(await proc.exited).toBe(130);
    expect(performance.now() - t0).toBeLessThan(300);
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      said += new TextDecoder().decode(chunk.value);
    expect(said).toContain("upcat: SIGINT before every target passed; not running sh");
    expect(existsSync(ran)).toBe(false);
  });

  test(
    "on a terminal, Ctrl-C reaches CMD once (the terminal signals upcat's whole process group: upcat does not " +
      "add a second)",
    async () => {
      const script = requireTool("script");
      const [ready, got] = [fresh("ready"), fresh("got")];
      // The child counts every SIGINT as it is delivered (Python's C handler runs at once, so two in a row
      // stay two, where a shell's trap may see one), then exits 5.
      const child = `import signal, sys, time
n = []
signal.signal(signal.SIGINT, lambda *_: n.append(1))
open(${JSON.stringify(ready)}, "w").write("ready")
time.sleep(1.5)
open(${JSON.stringify(got)}, "w").write(f"{len(n)} SIGINT")
sys.exit(5)`;
      const line = [
        ...fromSource.argv,
        "check",
        "--quiet",
        `127.0.0.1:${open.port}`,
        "--",
        requireTool("python3"),
        "-c",
        child,
      ]
        .map((w) => `'${w.replaceAll("'", "'\\''")}'`)
        .join(" ");
      // exec: upcat itself, not a shell around it, is what the terminal's Ctrl-C and script -e's status are about.
      const proc = Bun.spawn([script, "-qec", `exec ${line}`, "/dev/null"], {
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
        env: { ...fromSource.env, PATH: `${fromSource.env.PATH}:/usr/bin:/bin` },
      });
      await waitForFile(ready);
      proc.stdin.write("\x03");
      proc.stdin.flush();
      const status = await proc.exited;
      expect(readFileSync(got, "utf8")).toBe("1 SIGINT");
      expect(status).toBe(5);
    },
  );

  test("a CMD that does not catch SIGTERM dies of it, and upcat exits 143", async () => {
    const ready = fresh("ready");
    const proc = spawnUpcat(fromSource, [
      "--quiet",
      `127.0.0.1:${open.port}`,
      "--",
      "sh",
      "-c",
      `echo $$ > ${ready}; while :; do sleep 0.02; done`,
    ]);
    const child = Number((await waitForFile(ready)).trim());
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(143);
    // The child is gone too: nothing is left running behind upcat.
    expect(existsSync(`/proc/${child}`)).toBe(false);
  });

  test(
    "as PID 1 of a PID namespace (a container's entrypoint): SIGTERM from outside reaches CMD, whose parent is " +
      "upcat (pid 1)",
    async () => {
      const unshare = requireTool("unshare");
      const [ready, got] = [fresh("ready"), fresh("got")];
      const argv = [
        unshare,
        "-rpf",
        "--kill-child",
        "--",
        ...fromSource.argv,
        "check",
        "--quiet",
        `127.0.0.1:${open.port}`,
        "--",
        "sh",
        "-c",
        trapper(ready, got),
      ];
      const outer = Bun.spawn(argv, {
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        env: { ...fromSource.env, PATH: `${fromSource.env.PATH}:/usr/bin:/bin` },
      });
      const [, parent] = (await waitForFile(ready)).trim().split(" ");
      expect(parent).toBe("1");
      // unshare -f forks upcat: its one child, as this namespace sees it, is the one to signal.
      const children = childrenOf(outer.pid);
      expect(children).toHaveLength(1);
      process.kill(children[0]!, "SIGTERM");
      expect(await outer.exited).toBe(0);
      expect(readFileSync(got, "utf8")).toBe("TERM\n");
    },
  );

  test("as PID 1, SIGTERM while --wait is still waiting ends upcat at once (143) and CMD never runs", async () => {
    const unshare = requireTool("unshare");
    const marker = fresh("ran");
    const argv = [
      unshare,
      "-rpf",
      "--kill-child",
      "--",
      ...fromSource.argv,
      "check",
      "--wait",
      "60s",
      `127.0.0.1:${closed}`,
      "--",
      "touch",
      marker,
    ];
    const outer = Bun.spawn(argv, {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...fromSource.env, NO_COLOR: "1", PATH: `${fromSource.env.PATH}:/usr/bin:/bin` },
    });
    // upcat is waiting once it runs (unshare's child) and catches SIGTERM (check's untilSignal, set up for the wait).
    let upcat: number[] = [];
    await waitFor("unshare to start upcat", () => (upcat = childrenOf(outer.pid)).length > 0, 10_000);
    await waitFor("upcat to catch SIGTERM", () => catches(upcat[0]!, 15), 10_000);
    const t0 = performance.now();
    try {
      process.kill(upcat[0]!, "SIGTERM");
      expect(await within("upcat to exit after SIGTERM", outer.exited, 3000)).toBe(143);
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(await new Response(outer.stderr).text()).toContain(
        "upcat: SIGTERM before every target passed; not running touch\n",
      );
      expect(existsSync(marker)).toBe(false);
    } finally {
      // --kill-child takes upcat down with unshare if the test failed with it still waiting.
      outer.kill("SIGKILL");
    }
  });

  test("as PID 1, SIGTERM while the report waits for a slow reader ends upcat (143), and CMD never runs", async () => {
    const unshare = requireTool("unshare");
    const marker = fresh("ran");
    let accepted = 0;
    const counting = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open() {
          accepted++;
        },
        data() {},
      },
    });
    // 600 lines of --json (about 120 KB) are more than the pipe holds while its reader sleeps.
    const targets = Array.from({ length: 600 }, () => `127.0.0.1:${counting.port}`);
    const upcat = [unshare, "-rpf", "--kill-child", "--", ...fromSource.argv, "check", "--json", ...targets]
      .concat(["--", "touch", marker])
      .map((word) => `'${word}'`)
      .join(" ");
    const outer = Bun.spawn(["bash", "-c", `${upcat} 2>&1 | { sleep 4; cat; }; echo "status $\{PIPESTATUS[0]}"`], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...fromSource.env, NO_COLOR: "1", PATH: `${fromSource.env.PATH}:/usr/bin:/bin` },
    });
    try {
      // Every check is done once every connection has come; the report is then stuck behind the sleeping reader.
      await waitFor("600 connections", () => accepted >= 600, 10_000);
      await Bun.sleep(300);
      const inner = childrenOf(outer.pid).filter((pid) => readFileSync(`/proc/${pid}/comm`, "utf8") === "unshare\n");
      expect(inner).toHaveLength(1);
      const pid = childrenOf(inner[0]!);
      expect(pid).toHaveLength(1);
      process.kill(pid[0]!, "SIGTERM");
      const out = await within("the pipeline to end", new Response(outer.stdout).text(), 15_000);
      // Before, the signal was ignored (PID 1, no handler left) and touch ran.
      expect(existsSync(marker)).toBe(false);
      expect(out).toEndWith("upcat: SIGTERM; not running touch\nstatus 143\n");
      expect(jsonRecords(out.slice(0, out.indexOf("upcat: "))).length).toBe(600);
    } finally {
      outer.kill("SIGKILL");
      counting.stop(true);
    }
  }, 30_000);

  test("-- with --nagios or --prometheus is a usage error; so is an empty command", async () => {
    const nagios = await run(fromSource, ["check", "--nagios", `127.0.0.1:${open.port}`, "--", "true"]);
    expect(nagios).toMatchObject({
      status: 3,
      stdout: "UPCAT UNKNOWN - --nagios reports to a monitoring system; it cannot run a command after --\n",
    });
    const prom = await run(fromSource, ["check", "--prometheus", `127.0.0.1:${open.port}`, "--", "true"]);
    expect(prom).toMatchObject({
      status: 2,
      stderr: "upcat: --prometheus reports to a monitoring system; it cannot run a command after --\n",
    });
    const empty = await run(fromSource, ["check", `127.0.0.1:${open.port}`, "--", ""]);
    expect(empty).toMatchObject({ status: 2, stderr: "upcat: the command after -- is empty\n" });
  });
});

describe("--down: wait for closed instead of open", () => {
  test("a closed port passes and an open one fails; --json says ok with state closed", async () => {
    const r = await run(fromSource, ["check", "--down", "--json", `127.0.0.1:${closed}`, `127.0.0.1:${open.port}`]);
    expect(r.status).toBe(1);
    const [down, up] = jsonRecords(r.stdout);
    expect(down).toMatchObject({ state: "closed", ok: true });
    expect(up).toMatchObject({ state: "open", ok: false });
    expect(
      (await run(fromSource, ["check", "--down", "--quiet", `127.0.0.1:${closed}`, `udp://127.0.0.1:${closed}`]))
        .status,
    ).toBe(0);
  });

  test("--down under --nagios: a refused port is OK, an open one CRITICAL", async () => {
    const ok = await run(fromSource, ["check", "--down", "--nagios", `127.0.0.1:${closed}`]);
    expect(ok.stdout).toMatch(
      new RegExp(`^TCP OK - tcp://127\\.0\\.0\\.1:${closed} closed, as --down wants \\(connection refused\\)\\|time=`),
    );
    expect(ok.status).toBe(0);
    const up = await run(fromSource, ["check", "--down", "--nagios", `127.0.0.1:${open.port}`]);
    expect(up.stdout).toStartWith(`TCP CRITICAL - tcp://127.0.0.1:${open.port} is open, and --down wants it closed|`);
    expect(up.status).toBe(2);
  });

  test("--down --wait: a server that stops is waited for, then CMD runs; one that stays up is 124", async () => {
    const port = await freePort();
    const l = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
    const args = ["--down", "--wait", "10s", `127.0.0.1:${port}`, "--", "echo", "drained"];
    const r = await changeWhileWaiting(args, () => l.stop(true)).finally(() => l.stop(true));
    expect(r).toMatchObject({ status: 0, stdout: "drained\n" });
    expect(r.stderr).toMatch(new RegExp(`\\nclosed +tcp://127\\.0\\.0\\.1:${port} .* after \\d+ tries\\n`));
    const stays = await run(fromSource, ["check", "--down", "--wait", "300ms", `127.0.0.1:${open.port}`]);
    expect(stays.status).toBe(124);
  });

  test("--down on an HTTP target: a server answering 503 is still up; a refused port is down", async () => {
    const web = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("draining", { status: 503 }) });
    try {
      const r = await run(fromSource, [
        "check",
        "--down",
        "--json",
        `http://127.0.0.1:${web.port}/`,
        `http://127.0.0.1:${closed}/`,
      ]);
      expect(jsonRecords(r.stdout).map((x) => [x.state, x.ok])).toEqual([
        ["mismatch", false],
        ["closed", true],
      ]);
    } finally {
      web.stop(true);
    }
  });
});

/**
 * changeWhileWaiting runs `upcat check ARGS` and calls change half a second after upcat says it is waiting, so however
 * slow upcat's start, it has tried at least once before: that window is what the tests measure.
 */
async function changeWhileWaiting(args: string[], change: () => void) {
  const proc = Bun.spawn([...fromSource.argv, "check", ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...fromSource.env, NO_COLOR: "1" },
  });
  let changing: Promise<void> | undefined;
  let stderr = "";
  const decoder = new TextDecoder();
  try {
    for await (const chunk of proc.stderr) {
      stderr += decoder.decode(chunk, { stream: true });
      if (!changing && stderr.includes("waiting up to")) changing = Bun.sleep(500).then(change);
    }
    const status = await within("check --wait", proc.exited, 15_000);
    await changing;
    return { status, stdout: await new Response(proc.stdout).text(), stderr };
  } finally {
    proc.kill("SIGKILL");
  }
}
