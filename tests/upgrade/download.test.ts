// upcat upgrade against hostile release servers: every download capped in size and bounded by --timeout, and every
// failure leaves the installed binary byte for byte as it was, nothing beside it, and nothing from the server on the
// terminal raw.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ASSET_MAX, TEXT_MAX } from "../../src/upgrade/bounds.ts";
import {
  ASSET,
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

/** A new binary that would pass, so only the fault under test can fail the upgrade. */
const GOOD = `#!/bin/sh\necho "upcat ${NEW} (test)"\n`;
/** Peak memory of one upgrade: Bun itself is some 50 MB; a body read into memory would be hundreds. */
const MEMORY_MAX_KIB = 300 << 10;

let server: HostileServer;

beforeAll(async () => {
  server = await serve({
    endless: release(GOOD, { asset: reply.endless() }),
    "asset-claims": release(GOOD, { asset: reply.claims(2 ** 40) }),
    "asset-silent": release(GOOD, { asset: reply.silent() }),
    "version-drips": release(GOOD, { version: reply.drip(`${NEW}${" ".repeat(60)}\n`, 100) }),
    "version-silent": release(GOOD, { version: reply.silent() }),
    "version-endless": release(GOOD, { version: reply.endless() }),
    "sums-claims": release(GOOD, { sums: reply.claims(TEXT_MAX + 1) }),
    "version-escapes": release(GOOD, {
      version: reply.bytes(`\x1b]0;owned\x07\x1b[2J\x1b[31m${"\x07".repeat(20)}${"A".repeat(2000)}\n`),
    }),
    "reason-escapes": release(GOOD, { version: reply.status(500, "bad \x9b31m\x9b2J gateway") }),
  });
});

afterAll(() => server?.close());

/** failed asserts what every failure must leave: exit 1, one line, the binary as it was, nothing beside it. */
function expectUnchanged(r: Awaited<ReturnType<typeof upgrade>>, installed: ReturnType<typeof install>): void {
  expect(r).toMatchObject({ status: 1, stdout: "", overMemory: false });
  expect(r.stderr).toStartWith("upcat: upgrade: ");
  expect(r.stderr.split("\n")).toHaveLength(2);
  expect(r.stderr).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
  expect(installedSha256(installed)).toBe(BUN_SHA256);
  expect(leftBeside(installed)).toEqual(["upcat"]);
  expect(r.peakKiB).toBeGreaterThan(0);
  expect(r.peakKiB).toBeLessThan(MEMORY_MAX_KIB);
}

test("an endless asset is stopped at the 256 MiB cap, on disk and in memory, and its staged file removed", async () => {
  const installed = install();
  const r = await upgrade(installed, `${server.origin}/endless`, []);
  expect(r.stderr).toBe(
    `upcat: upgrade: download ${server.origin}/endless/${ASSET}: more than 256 MiB, which no release binary is; ` +
      `stopped there\n`,
  );
  expectUnchanged(r, installed);
  // The server wrote little past the cap before upgrade hung up: what the socket buffers hold, not a gigabyte.
  const sent = server.sent.get(`/endless/${ASSET}`)!.bytes;
  expect(sent).toBeGreaterThan(ASSET_MAX);
  expect(sent).toBeLessThan(ASSET_MAX + (32 << 20));
  expect(r.ms).toBeLessThan(15_000);
}, 30_000);

test("an asset whose Content-Length is past the cap is refused at its headers, before a byte is read", async () => {
  const installed = install();
  const r = await upgrade(installed, `${server.origin}/asset-claims`, ["--timeout", "10s"]);
  expect(r.stderr).toBe(
    `upcat: upgrade: download ${server.origin}/asset-claims/${ASSET}: the server says it is ${2 ** 40} bytes, more ` +
      `than the 256 MiB a release binary may be; nothing was read\n`,
  );
  expectUnchanged(r, installed);
  // Not the 10s stall: the headers alone decided.
  expect(r.ms).toBeLessThan(3000);
});

test("an asset server that answers no headers is a stall: cut by --timeout", async () => {
  const installed = install();
  const r = await upgrade(installed, `${server.origin}/asset-silent`, ["--timeout", "500ms"]);
  expect(r.stderr).toBe(
    `upcat: upgrade: download ${server.origin}/asset-silent/${ASSET}: no data for 0.5s (the server stalled; try ` +
      `again, or raise --timeout)\n`,
  );
  expectUnchanged(r, installed);
  expect(r.ms).toBeLessThan(3000);
});

test.each([
  ["version-drips", "a VERSION that drips a byte every 100ms"],
  ["version-silent", "a VERSION that never answers"],
])("%s (%s): --timeout bounds the request whole", async (name) => {
  const installed = install();
  const r = await upgrade(installed, `${server.origin}/${name}`, ["--timeout", "1s"]);
  expect(r.stderr).toBe(
    `upcat: upgrade: download ${server.origin}/${name}/VERSION: not whole within 1s (the server is slow or drips; ` +
      `try again, or raise --timeout)\n`,
  );
  expectUnchanged(r, installed);
  // The drip would take 6s; the request is cut at 1s, and Bun's start-up is the rest.
  expect(r.ms).toBeLessThan(3500);
});

test("an endless VERSION is stopped at 64 KiB", async () => {
  const installed = install();
  const r = await upgrade(installed, `${server.origin}/version-endless`, []);
  expect(r.stderr).toBe(
    `upcat: upgrade: download ${server.origin}/version-endless/VERSION: more than 64 KiB, which no release text ` +
      `file is; stopped there\n`,
  );
  expectUnchanged(r, installed);
  expect(r.ms).toBeLessThan(3000);
});

test("a SHA256SUMS whose Content-Length is past 64 KiB is refused at its headers", async () => {
  const installed = install();
  const r = await upgrade(installed, `${server.origin}/sums-claims`, ["--timeout", "10s"]);
  expect(r.stderr).toBe(
    `upcat: upgrade: download ${server.origin}/sums-claims/SHA256SUMS: the server says it is ${TEXT_MAX + 1} ` +
      `bytes, more than the 64 KiB a release text file may be; nothing was read\n`,
  );
  expectUnchanged(r, installed);
  expect(r.ms).toBeLessThan(3000);
});

test("a VERSION full of escape sequences and BEL is shown escaped and cut, never obeyed", async () => {
  const installed = install();
  const r = await upgrade(installed, `${server.origin}/version-escapes`, []);
  expect(r.stderr).toBe(
    `upcat: upgrade: ${server.origin}/version-escapes/VERSION does not hold a version (it says ` +
      `"\\e]0;owned\\x07\\e[2J\\e[31m${"\\x07".repeat(20)}A… (2039 characters)")\n`,
  );
  expectUnchanged(r, installed);
});

test("a reason phrase with 8-bit CSI in it is shown escaped", async () => {
  const installed = install();
  const r = await upgrade(installed, `${server.origin}/reason-escapes`, []);
  expect(r.stderr).toMatch(/^upcat: upgrade: download \S+\/VERSION: HTTP 500 bad .*gateway\n$/);
  expect(r.stderr).toContain("\\x9b");
  expectUnchanged(r, installed);
});
