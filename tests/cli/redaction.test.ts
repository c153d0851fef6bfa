// A password in a target is `***` in every output: text, JSON, nagios, prometheus and error messages; it still works.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fromSource, run } from "../support/run.ts";

const PASSWORD = "s3cr3t-Pw";
let server: ReturnType<typeof Bun.serve>;
const authorizations: (string | null)[] = [];
beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      authorizations.push(req.headers.get("authorization"));
      const ok = req.headers.get("authorization") === `Basic ${btoa(`alice:${PASSWORD}`)}`;
      return new Response(ok ? "welcome" : "who?", { status: ok ? 200 : 401 });
    },
  });
});
afterAll(() => server.stop(true));

const url = () => `http://alice:${PASSWORD}@127.0.0.1:${server.port}/private`;
const shown = () => `http://alice:***@127.0.0.1:${server.port}/private`;

describe("a target with a password", () => {
  test.each([[[]], [["--json"]], [["--nagios"]], [["--prometheus"]], [["--quiet"]]])(
    "check %j passes with the credentials sent, and prints the target as user:***@",
    async (extra) => {
      const before = authorizations.length;
      const r = await run(fromSource, ["check", ...extra, url()]);
      expect(r.status).toBe(0);
      expect(authorizations.slice(before)).toEqual([`Basic ${btoa(`alice:${PASSWORD}`)}`]);
      expect(r.stdout + r.stderr).not.toContain(PASSWORD);
      // check_http's OK line names the host and port, not the URL.
      if (!extra.includes("--quiet") && !extra.includes("--nagios")) expect(r.stdout).toContain(shown());
    },
  );

  test.each([[[]], [["--json"]], [["--nagios"]], [["--prometheus"]]])(
    "check %j of a closed port fails, and its failure names no password",
    async (extra) => {
      const r = await run(fromSource, ["check", ...extra, `http://alice:${PASSWORD}@127.0.0.1:1/`]);
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).not.toContain(PASSWORD);
      expect(r.stdout + r.stderr).toContain("alice:***@127.0.0.1:1");
    },
  );

  test.each([
    [[`${"http"}://alice:${PASSWORD}@[::1`]],
    [[`http://alice:${PASSWORD}@127.0.0.1:1/ --bogus`]],
    [["--nagios", `http://alice:${PASSWORD}@127.0.0.1:1/ --bogus`]],
    [["--udp", `http://alice:${PASSWORD}@127.0.0.1:1/`]],
    [["--wait", "300ms", `http://alice:${PASSWORD}@127.0.0.1:1/`]],
  ])("usage errors and progress quoting the target hide the password too: check %j", async (args) => {
    const r = await run(fromSource, ["check", ...args]);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    expect(r.stdout + r.stderr).toContain("alice:***@");
  });
});
