// The new binary's trial run (--version) against hostile "binaries": shell scripts served with their true checksum,
// so only the trial can refuse them. Each is killed with its whole process group, its output read to a cap.
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  BUN_SHA256,
  type HostileServer,
  install,
  installedSha256,
  leftBeside,
  NEW,
  release,
  running,
  serve,
  sha256,
  upgrade,
} from "./hostile-release.ts";
import { waitFor } from "../support/wait.ts";

/** MARK tags the processes the scripts start, to find any left running: `sleep 1000.PID` is this run's alone. */
const MARK = `1000.${process.pid}`;
const RIGHT = `upcat ${NEW} (test)`;

const SCRIPTS = {
  // Prints the right version and exits 0, but leaves a child holding its stdout (for ever, without the group kill).
  forks: `#!/bin/sh\nsleep ${MARK} &\necho "${RIGHT}"\n`,
  // Prints the right version and never exits.
  hangs: `#!/bin/sh\necho "${RIGHT}"\nexec sleep ${MARK}\n`,
  // Prints without end.
  floods: `#!/bin/sh\nexec yes "${RIGHT} ${MARK}"\n`,
  // Prints escape sequences and BEL, and fails.
  escapes: `#!/bin/sh\nprintf '\\033]0;owned\\007\\033[31mupcat 6.6.6\\033[0m\\n'\nexit 3\n`,
  // A binary that passes: the control that shows the harness can succeed.
  good: `#!/bin/sh\necho "${RIGHT}"\n`,
};

let server: HostileServer;

beforeAll(async () => {
  server = await serve(Object.fromEntries(Object.entries(SCRIPTS).map(([name, script]) => [name, release(script)])));
});

afterAll(() => server?.close());

/** refused asserts a failed upgrade: exit 1, the message, the binary as it was, nothing beside it or left running. */
async function refused(name: keyof typeof SCRIPTS, args: string[], message: string, maxMs: number) {
  const installed = install();
  const r = await upgrade(installed, `${server.origin}/${name}`, args);
  expect(r.stderr).toBe(`upcat: upgrade: ${message}; it was killed; nothing was replaced\n`);
  expect(r).toMatchObject({ status: 1, stdout: "", overMemory: false });
  expect(r.stderr).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
  expect(r.ms).toBeLessThan(maxMs);
  expect(r.peakKiB).toBeGreaterThan(0);
  expect(r.peakKiB).toBeLessThan(300 << 10);
  expect(installedSha256(installed)).toBe(BUN_SHA256);
  expect(leftBeside(installed)).toEqual(["upcat"]);
  // SIGKILL to the group is sent before upgrade exits; the kernel may take a moment to tear the children down.
  await waitFor(`no process holding ${MARK}`, () => running(MARK).length === 0, 2000);
}

test("a binary whose --version leaves a child holding stdout: the child killed with its group", async () => {
  await refused(
    "forks",
    [],
    `the downloaded binary's --version left a process holding its output (it printed "${RIGHT}")`,
    3000,
  );
});

test("a binary whose --version never exits: killed with its group at --timeout", async () => {
  await refused(
    "hangs",
    ["--timeout", "1s"],
    "the downloaded binary's --version did not finish within 1s (--timeout)",
    3500,
  );
});

test("a binary that prints without end: read to 4 KiB, then killed", async () => {
  // The message quotes the first 60 characters of what it printed, escaped.
  const flood = `${RIGHT} ${MARK}\n`.repeat(3);
  await refused(
    "floods",
    [],
    `the downloaded binary printed more than 4 KiB for --version ("${flood.slice(0, 60).replaceAll("\n", "\\n")}… ` +
      `(4096 characters)")`,
    3000,
  );
});

test("a binary that prints escape sequences: its words are shown escaped", async () => {
  const installed = install();
  const r = await upgrade(installed, `${server.origin}/escapes`, []);
  expect(r.stderr).toBe(
    `upcat: upgrade: the downloaded binary did not pass its own --version (it printed ` +
      `"\\e]0;owned\\x07\\e[31mupcat 6.6.6\\e[0m", not upcat ${NEW}); nothing was replaced\n`,
  );
  expect(r.status).toBe(1);
  expect(installedSha256(installed)).toBe(BUN_SHA256);
  expect(leftBeside(installed)).toEqual(["upcat"]);
});

test("a binary that passes is put in place: the harness above can succeed", async () => {
  const installed = install();
  const r = await upgrade(installed, `${server.origin}/good`, []);
  expect(r).toMatchObject({ status: 0, stderr: "" });
  expect(r.stdout).toMatch(new RegExp(`^upgraded ${installed.path}: \\S+ -> ${NEW.replaceAll(".", "\\.")}\\n$`));
  expect(installedSha256(installed)).toBe(sha256(SCRIPTS.good));
  expect(leftBeside(installed)).toEqual(["upcat"]);
});
