// upcat.1: written by the compiled binary from its own definitions, rendered by man -l without a warning, and the same
// file the release ships.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeDocs } from "../../scripts/docs.ts";
import { compiled } from "../support/binary.ts";
import { requireTool } from "../support/peers.ts";
import { run } from "../support/run.ts";

let dir: string;
let page: string;
let rendered: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "upcat-man-"));
  const r = await run(await compiled(), ["manpage"]);
  expect(r).toMatchObject({ status: 0, stderr: "" });
  page = join(dir, "upcat.1");
  writeFileSync(page, r.stdout);
  // --warnings makes groff report every roff mistake on stderr; MANWIDTH fixes the layout.
  const man = Bun.spawnSync([requireTool("man"), "--warnings", "-l", page], {
    env: { PATH: "/usr/bin:/bin", MANWIDTH: "100", LANG: "C.UTF-8" },
  });
  expect(man.stderr.toString()).toBe("");
  expect(man.exitCode).toBe(0);
  // Piped, man still overstrikes bold (X\bX) and underlines (_\bX): col -b's job, done here.
  rendered = man.stdout.toString().replace(/.\x08/g, "");
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("man -l renders it as upcat(1) with the sections a man page has", () => {
  expect(rendered.split("\n")[0]).toMatch(/^UPCAT\(1\)\s+User Commands\s+UPCAT\(1\)$/);
  for (const heading of [
    "NAME",
    "SYNOPSIS",
    "DESCRIPTION",
    "COMMANDS",
    "OPTIONS",
    "EXIT STATUS",
    "ENVIRONMENT",
    "SEE ALSO",
  ])
    expect(rendered).toContain(`\n${heading}\n`);
});

test.each([
  "serve",
  "relay <LISTEN> <TARGET>",
  "send [target] [...message]",
  "check [...targets]",
  "exporter",
  "protocols",
  "bench [target]",
  "upgrade [version]",
  "completion <shell>",
])("the command %p has its own section", (command) => {
  expect(rendered).toContain(`upcat ${command}\n`);
});

test("options keep their ASCII hyphens (roff's \\-), so a search for --wait finds them", () => {
  expect(rendered).toMatch(/\n {7}--wait <duration>\n/);
  expect(rendered).toContain("--dry-run");
  expect(rendered).toContain("--max-pending <size>");
});

test("the release's upcat.1 (scripts/docs.ts, from source) is byte for byte what the binary prints", async () => {
  const out = mkdtempSync(join(dir, "docs-"));
  await writeDocs(out);
  expect(await Bun.file(join(out, "upcat.1")).text()).toBe(await Bun.file(page).text());
}, 60_000);
