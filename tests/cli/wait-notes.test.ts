// check --wait says what it waits for: a line at once, then every few seconds who is still awaited and why, read from
// its stderr as it comes; the forms read by programs say nothing on stderr.
import { describe, expect, test } from "bun:test";
import type { CheckTarget, Outcome } from "../../src/check/result.ts";
import { NOTE_EVERY_MS, waitNotes } from "../../src/cli/wait-notes.ts";
import { fromSource, run } from "../support/run.ts";

const target = (port: number): CheckTarget => ({ transport: "tcp", host: "127.0.0.1", port }) as CheckTarget;
const refused = { state: "closed", error: "connection refused", latencyMs: 0.3 } as Outcome;

describe("waitNotes", () => {
  test("a line at once naming every target, then one a NOTE_EVERY_MS naming those still awaited and why", () => {
    const said: string[] = [];
    const note = waitNotes((l) => said.push(l), [target(1), target(2)], 60_000, false);
    expect(said).toEqual(["upcat: waiting up to 1m for tcp://127.0.0.1:1, tcp://127.0.0.1:2"]);
    const at = (ms: number, passed = 0) =>
      note({ done: passed, passed, total: 2, elapsedMs: ms, waiting: [target(2)], why: [refused] });
    at(100);
    at(NOTE_EVERY_MS - 1);
    expect(said).toHaveLength(1);
    at(NOTE_EVERY_MS + 200, 1);
    at(NOTE_EVERY_MS + 900, 1);
    at(2 * NOTE_EVERY_MS + 10, 1);
    expect(said.slice(1)).toEqual([
      "upcat: 5.2s, 1/2 up, still waiting for tcp://127.0.0.1:2 (closed: connection refused)",
      "upcat: 10.0s, 1/2 up, still waiting for tcp://127.0.0.1:2 (closed: connection refused)",
    ]);
  });

  test("--down says so; a fleet is named up to five and counted; a long reason is cut, its controls escaped", () => {
    const said: string[] = [];
    const many = Array.from({ length: 7 }, (_, i) => target(i + 1));
    const note = waitNotes((l) => said.push(l), many, 30_000, true);
    expect(said[0]).toBe(
      "upcat: waiting up to 30s for tcp://127.0.0.1:1, tcp://127.0.0.1:2, tcp://127.0.0.1:3, tcp://127.0.0.1:4, " +
        "tcp://127.0.0.1:5 and 2 more to go down",
    );
    const open = { state: "open", latencyMs: 1, error: `x\x1b[2J${"y".repeat(500)}` } as Outcome;
    note({ done: 0, passed: 0, total: 7, elapsedMs: 6000, waiting: many, why: many.map(() => open) });
    expect(said[1]).toStartWith("upcat: 6.0s, 0/7 down, still waiting for tcp://127.0.0.1:1 (open: x\\e[2Jyyy");
    expect(said[1]).toEndWith("and 2 more");
    expect(said[1]!.length).toBeLessThan(1000);
    expect(said[1]).not.toContain("\x1b");
  });
});

/** freePort is a TCP port of 127.0.0.1 that nothing listens on (bound, read back, let go). */
function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

describe("check --wait, from outside", () => {
  test("a port that opens after 5 s, once a note has named it and why: the waiting line, then the pass", async () => {
    const port = freePort();
    const started = performance.now();
    const proc = Bun.spawn([...fromSource.argv, "check", "--wait", "30s", `127.0.0.1:${port}`], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...fromSource.env, NO_COLOR: "1" },
    });
    let listener: Bun.TCPSocketListener | undefined;
    const killer = setTimeout(() => proc.kill("SIGKILL"), 25_000);
    // Each line with the time it came: read as it comes, not once the process has ended.
    const lines: { at: number; line: string }[] = [];
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) {
      text += decoder.decode(chunk, { stream: true });
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n")) {
        lines.push({ at: performance.now() - started, line: text.slice(0, nl) });
        text = text.slice(nl + 1);
        // The port opens once the note has come: it must have come while the process ran, before its end.
        if (lines.at(-1)!.line.includes("still waiting") && !listener)
          listener = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
      }
    }
    const status = await proc.exited;
    clearTimeout(killer);
    listener?.stop(true);
    expect(status).toBe(0);
    expect(lines[0]!.line).toBe(`upcat: waiting up to 30s for tcp://127.0.0.1:${port}`);
    // Said long before the port opens (start-up alone is well under this on a loaded machine).
    expect(lines[0]!.at).toBeLessThan(4000);
    const note = lines.find((l) => l.line.includes("still waiting"));
    expect(note?.line).toMatch(
      new RegExp(`^upcat: \\d+\\.\\ds, 0/1 up, still waiting for tcp://127\\.0\\.0\\.1:${port} \\(closed: `),
    );
    // Not before the first NOTE_EVERY_MS of waiting.
    expect(note!.at).toBeGreaterThan(NOTE_EVERY_MS);
    expect(lines.at(-1)!.line).toMatch(/^1 of 1 target passed/);
  }, 30_000);

  test("--quiet, --json, --nagios, --prometheus: nothing on stderr while they wait, past a note's time", async () => {
    const forms = ["--quiet", "--json", "--nagios", "--prometheus"];
    // At once: each waits out its 6 s.
    const ran = await Promise.all(
      forms.map((form) =>
        run(fromSource, ["check", form, "--wait", "6s", `127.0.0.1:${freePort()}`], { timeoutMs: 20_000 }),
      ),
    );
    expect(ran.map((r, i) => ({ form: forms[i], stderr: r.stderr, failed: r.status !== 0 }))).toEqual(
      forms.map((form) => ({ form, stderr: "", failed: true })),
    );
  }, 25_000);
});
