// upcat completion: the bash and fish scripts, loaded by a real bash (with bash-completion) and a real fish, complete
// commands and options through the compiled binary.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compiled, nativeBinary } from "../support/binary.ts";
import { requireTool } from "../support/peers.ts";
import { run } from "../support/run.ts";

const BASH_COMPLETION = "/usr/share/bash-completion/bash_completion";
let dir: string;
let script: string;

beforeAll(async () => {
  // A PATH holding upcat alone: the script calls `upcat complete` at each TAB, and no node or bun is there.
  dir = mkdtempSync(join(tmpdir(), "upcat-completion-"));
  symlinkSync(await nativeBinary(), join(dir, "upcat"));
  const r = await run(await compiled(), ["completion", "bash"]);
  expect(r).toMatchObject({ status: 0, stderr: "" });
  script = join(dir, "upcat.bash");
  writeFileSync(script, r.stdout);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** complete asks bash for the completions of line, as a TAB at its end would (COMP_* set as readline sets them). */
function complete(line: string): string[] {
  if (!existsSync(BASH_COMPLETION))
    throw new Error(`no ${BASH_COMPLETION}: apt-get install bash-completion (it is in .ci/apt-packages)`);
  const words = line.split(" ");
  const program = [
    `source ${BASH_COMPLETION}`,
    `source ${script}`,
    `COMP_LINE=${JSON.stringify(line)}; COMP_POINT=\${#COMP_LINE}`,
    `COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(" ")}); COMP_CWORD=${words.length - 1}`,
    // compopt complains outside a real TAB; the replies are what readline would show.
    "$(complete -p upcat | sed 's/.*-F \\([^ ]*\\).*/\\1/') 2>/dev/null",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's ${...}, run by bash
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join("\n");
  const r = Bun.spawnSync(["/bin/bash", "--norc", "--noprofile", "-c", program], {
    env: { PATH: `${dir}:/usr/bin:/bin` },
  });
  expect(r.stderr.toString()).toBe("");
  return r.stdout.toString().split("\n").filter(Boolean);
}

test.each([
  ["upcat ch", ["check"]],
  ["upcat check --wa", ["--wait", "--warning"]],
  ["upcat upgrade --c", ["--check"]],
  ["upcat completion ", ["bash", "fish", "powershell", "zsh"]],
  ["upcat completion f", ["fish"]],
  ["upcat check --protocol e", ["echo"]],
  ["upcat serve --protocol d", ["daytime", "discard"]],
  ["upcat se", ["send", "serve"]],
  // Options as they are typed, never cac's camel-cased names (--maxConnections is no flag).
  ["upcat serve --max-c", ["--max-connections"]],
  ["upcat check --expect-p", ["--expect-prefix"]],
  ["upcat relay --udp-r", ["--udp-rate", "--udp-reply-rate"]],
])("bash completes %p to %p", (line, want) => {
  expect(complete(line).sort()).toEqual(want);
});

test("the script registers one function for upcat, which calls the binary back", () => {
  const r = Bun.spawnSync([
    "/bin/bash",
    "--norc",
    "--noprofile",
    "-c",
    `source ${BASH_COMPLETION}; source ${script}; complete -p upcat`,
  ]);
  expect(r.stdout.toString()).toBe("complete -F __upcat_complete upcat\n");
});

test.each([
  ["upcat ch", ["check"]],
  ["upcat check --wa", ["--wait", "--warning"]],
  ["upcat completion ", ["bash", "fish", "powershell", "zsh"]],
])("fish, with upcat's fish script loaded, completes %p to %p", async (line, want) => {
  const r = await run(await compiled(), ["completion", "fish"]);
  const script = join(dir, "upcat.fish");
  writeFileSync(script, r.stdout);
  const fish = Bun.spawnSync(
    [requireTool("fish"), "--no-config", "-c", `source ${script}; complete -C ${JSON.stringify(line)}`],
    {
      env: { PATH: `${dir}:/usr/bin:/bin`, HOME: dir },
    },
  );
  expect(fish.stderr.toString()).toBe("");
  // Each line is a value and, after a tab, its description.
  expect(
    fish.stdout
      .toString()
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split("\t")[0])
      .sort(),
  ).toEqual(want);
});

test.each(["zsh", "fish", "powershell"])(
  "upcat completion %s prints a script that asks upcat complete",
  async (shell) => {
    const r = await run(await compiled(), ["completion", shell]);
    expect(r).toMatchObject({ status: 0, stderr: "" });
    expect(r.stdout).toMatch(/upcat complete '?--/);
  },
);

test("an unknown shell: exit 2, one line naming the shells", async () => {
  const r = await run(await compiled(), ["completion", "tcsh"]);
  expect(r).toMatchObject({
    status: 2,
    stdout: "",
    stderr: 'upcat: unknown shell "tcsh" for completion (one of: bash, zsh, fish, powershell)\n',
  });
});
