// upcat upgrade --check tells its three answers apart by exit status, as `dnf check-update` does: 0 up to date, 100 a
// newer release exists, 1 the check failed. Each is one line, and --check never touches the installed binary.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createServer } from "node:net";
import pkg from "../../package.json" with { type: "json" };
import { NEWER_STATUS } from "../../src/cli/upgrade.ts";
import {
  BUN_SHA256,
  type HostileServer,
  install,
  installedSha256,
  leftBeside,
  NEW,
  release,
  reply,
  serve,
  upgrade,
} from "./hostile-release.ts";

/** The tree's own version: what upcat run from source is. */
const CURRENT = pkg.version;
const BINARY = `#!/bin/sh\necho "upcat ${NEW} (test)"\n`;

let server: HostileServer;
/** closed is a loopback port nothing listens on: a mirror that is down. */
let closed: string;

beforeAll(async () => {
  server = await serve({
    newer: release(BINARY),
    same: release(BINARY, { version: reply.bytes(`${CURRENT}\n`) }),
    "no-version": release(BINARY, { version: reply.bytes("<html>moved</html>\n") }),
    broken: release(BINARY, { version: reply.status(503, "Service Unavailable") }),
  });
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  closed = `http://127.0.0.1:${port}`;
});

afterAll(() => server?.close());

async function check(folder: string) {
  const installed = install();
  const r = await upgrade(installed, folder, ["--check", "--timeout", "5s"]);
  // Only VERSION is read: the binary stays as it was, with nothing beside it.
  expect(installedSha256(installed)).toBe(BUN_SHA256);
  expect(leftBeside(installed)).toEqual(["upcat"]);
  return r;
}

test("the status for a newer release is dnf check-update's 100", () => {
  expect(NEWER_STATUS).toBe(100);
});

test("a newer release exists: exit 100 and one line naming both versions", async () => {
  const r = await check(`${server.origin}/newer`);
  expect(r).toMatchObject({
    status: 100,
    stderr: "",
    stdout: `upcat ${NEW} is available (this is ${CURRENT}): run upcat upgrade\n`,
  });
});

test("the same release: exit 0 and one line", async () => {
  const r = await check(`${server.origin}/same`);
  expect(r).toMatchObject({ status: 0, stderr: "", stdout: `upcat ${CURRENT} is up to date (release ${CURRENT})\n` });
});

test("an unreachable mirror: exit 1 and one line on stderr, nothing on stdout", async () => {
  const r = await check(closed);
  expect(r).toMatchObject({ status: 1, stdout: "" });
  expect(r.stderr).toStartWith(`upcat: upgrade: `);
  expect(r.stderr).toContain(closed);
  expect(r.stderr.split("\n")).toHaveLength(2);
});

test.each([
  ["a VERSION that holds no version", "no-version", /does not hold a version/],
  ["a mirror that answers 503", "broken", /503/],
])("%s: exit 1, not 100, and one line on stderr", async (_, folder, words) => {
  const r = await check(`${server.origin}/${folder}`);
  expect(r).toMatchObject({ status: 1, stdout: "" });
  expect(r.stderr).toStartWith("upcat: upgrade: ");
  expect(r.stderr).toMatch(words);
  expect(r.stderr.split("\n")).toHaveLength(2);
});
