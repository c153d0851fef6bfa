// Fuzzing the command line and the TARGET parser with seeded random input: an exit status from the README's table with
// one `upcat: ` line, never a crash or a hang, and no word on the wire that the user did not type.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { upcase } from "../../src/protocol/utf8-upper.ts";
import type { Listener } from "../../src/transport/listener.ts";
import { serveProtocol } from "../../src/transport/serve.ts";
import { parseTarget } from "../../src/transport/target.ts";
import { UsageError } from "../../src/errors.ts";
import { upper } from "../../src/protocol/upper.ts";
import { requireTool } from "../support/peers.ts";
import { seeded } from "../../src/relay/random.ts";
import { type Recorder, startRecorder, textOf } from "../support/recorder.ts";
import { registeredCli } from "../support/commands.ts";
import { fromSource, run } from "../support/run.ts";
import { figure } from "../support/figures.ts";

const VECTORS = 300;
const KILL_MS = 3000;

const COMMANDS = [
  "send",
  "send",
  "send",
  "serve",
  "serve",
  "protocols",
  "help",
  "check",
  "check",
  "check",
  "relay",
  "relay",
  "bench",
  "upgrade",
  "completion",
  "manpage",
  "",
  "SEND",
  "--help",
  "-h",
  "--version",
  "-V",
];
/** REGISTERED are every option of every command, as the commands register them. */
const REGISTERED = (() => {
  const names = registeredCli().commands.flatMap((c) => c.options.flatMap((o) => o.rawName.split(/[ ,]+/)));
  return [...new Set(names.filter((n) => n.startsWith("-")))];
})();

/** CHECK_LINE is a line of check's own text output: a result, or the summary. */
const CHECK_LINE = /^(open|closed|unreachable|timeout|no reply|mismatch|error) |^\d+ of \d+ targets? passed /;

/** EXIT_STATUSES are the README's table: 124 for a --wait missed, 126 and 127 for a CMD after -- that is not there. */
const EXIT_STATUSES = [0, 1, 2, 3, 124, 126, 127];

const OPTIONS = [
  ...REGISTERED,
  "--json=1",
  "--nagios=1",
  "--tls=yes",
  "--udp=1",
  "--binary=1",
  "--json=true",
  "--quiet=false",
  "--udp",
  "--tcp",
  "--timeout",
  "--retries",
  "--protocol",
  "--raw",
  "--bytes",
  "--json",
  "--host",
  "--port",
  "--allow",
  "--udp-rate",
  "--max-connections",
  "--idle-timeout",
  "--max-pending",
  "--drain",
  "--log",
  "--stats",
  "--quiet",
  "--quotes",
  "--help",
  "-h",
  "--version",
  "-V",
  "-x",
  "--no-udp",
  "--",
  "-",
  "--port=-1",
  "--timeout=1e999",
  "--retries=1e3",
  "--protocol=nope",
  "--protocol=time=70000",
  "--log=xml",
  "--bytes=-5",
  "--drain=-1s",
  "--max-pending=0",
  "--stats=0",
];
const VALUES = [
  "-1",
  "0",
  "1",
  "2",
  "65535",
  "65536",
  "70000",
  "99999999999999999999",
  "1e999",
  "1e3",
  "NaN",
  "Infinity",
  "0x10",
  "0123",
  "2s",
  "500ms",
  "1m",
  "1h",
  "-5s",
  "1.5",
  ".5s",
  "5 s",
  "2d",
  "",
  " ",
  "  \t ",
  "ß",
  "😀",
  "한국어",
  "\u202e",
  "\uFFFF",
  "upper",
  "echo",
  "discard",
  "chargen",
  "qotd",
  "daytime",
  "time",
  "UPPER",
  "upper=0",
  "echo=0",
  "chargen=0",
  "tcp://",
  "udp://",
  "ftp://x:1",
  "tcp://127.0.0.1",
  "tcp://127.0.0.1:1",
  "udp://127.0.0.1:1",
  "udp://[::1]:1",
  "[::1]",
  "[::1]:1",
  "[::1]:99999",
  "[::1",
  "[1.2.3.4]:1",
  "[::g]:1",
  "127.0.0.1:0",
  "127.0.0.1:1",
  "127.0.0.1:",
  ":1",
  ":",
  "::1:1",
  "a:b:c",
  "localhost:1",
  "localhost:-1",
  "localhost:1.5",
  "127.0.0.1:+1",
  "-127.0.0.1:1",
  "10.0.0.0/8",
  "::/0",
  "300.1.1.1/33",
  "/nonexistent/quotes",
  "json",
  "text",
  "xml",
  "hello",
  "hello world",
  "a\nb",
  "%s%n",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${HOME} is one of the fuzz words
  "${HOME}",
  "'quoted'",
  "\\",
  "--",
  "=",
  "==",
  "0:0",
];

/** vector draws one argv: mostly a command and then options, values and junk in any order. */
function vector(random: () => number): string[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const argv: string[] = [];
  if (random() < 0.9) argv.push(pick(COMMANDS));
  const n = Math.floor(random() * 7);
  for (let k = 0; k < n; k++) {
    const roll = random();
    if (roll < 0.4) {
      const option = pick(OPTIONS);
      argv.push(option);
      if (random() < 0.7 && !option.includes("=")) argv.push(pick(VALUES));
    } else if (roll < 0.5) {
      argv.push(`${pick(OPTIONS)}=${pick(VALUES)}`);
    } else if (roll < 0.9) {
      argv.push(pick(VALUES));
    } else {
      // Raw junk: random code points, surrogates and controls included (but no NUL, which argv cannot hold).
      argv.push(
        String.fromCodePoint(
          ...Array.from({ length: 1 + Math.floor(random() * 6) }, () => 1 + Math.floor(random() * 0x10ffff)).filter(
            (c) => c < 0xd800 || c > 0xdfff,
          ),
        ),
      );
    }
  }
  return argv;
}

interface Outcome {
  argv: string[];
  status: number | null;
  stderr: string;
  /** served: a serve vector that was valid, printed its ready line and was stopped by us. */
  served: boolean;
  killed: boolean;
}

/**
 * runIsolated runs the source CLI in a network namespace of its own with no interface up (unshare
 * -rn), so whatever a random vector asks for, no packet leaves; a server that starts is stopped once its
 * ready line is out, anything else is killed after KILL_MS.
 */
async function runIsolated(argv: string[]): Promise<Outcome> {
  const proc = Bun.spawn(["unshare", "-rn", "--", ...fromSource.argv, ...argv], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    env: { ...fromSource.env, NO_COLOR: "1" },
  });
  let killed = false;
  let served = false;
  const timer = setTimeout(() => {
    killed = true;
    proc.kill("SIGKILL");
  }, KILL_MS);
  const decoder = new TextDecoder();
  let stderr = "";
  for await (const chunk of proc.stderr) {
    stderr += decoder.decode(chunk, { stream: true });
    if (
      /^(serve|relay)$/.test(argv[0] ?? "") &&
      /^upcat: (serving|relaying) /.test(stderr) &&
      stderr.includes("\n") &&
      !served
    ) {
      served = true;
      proc.kill("SIGTERM");
    }
  }
  const status = await proc.exited;
  clearTimeout(timer);
  return { argv, status, stderr, served, killed };
}

describe("random command lines", () => {
  test(`${VECTORS} seeded argv vectors over every command: an exit status from the README's table within ${KILL_MS} ` +
    `ms, one 'upcat: ' line on failure, no stack`, async () => {
    requireTool("unshare");
    const random = seeded(0x7c47);
    const vectors = Array.from({ length: VECTORS }, () => vector(random));
    const outcomes: Outcome[] = [];
    let next = 0;
    // A few at a time: each is a process of its own.
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        while (next < vectors.length) outcomes.push(await runIsolated(vectors[next++]!));
      }),
    );
    const bad = outcomes.filter((o) => {
      if (o.served)
        return !/^upcat: (serving|relaying) [^\n]*\n/.test(o.stderr) || /internal error|\bat \S+:\d+/.test(o.stderr);
      if (o.killed || o.status === null || !EXIT_STATUSES.includes(o.status)) return true;
      if (/internal error|\bat \S+:\d+/.test(o.stderr)) return true;
      if (o.status === 0 || o.status === 3) return false;
      // A failure says why in upcat's own lines: errors, and check's result and summary lines (on stderr before a CMD).
      const lines = o.stderr.split("\n").filter(Boolean);
      return lines.length === 0 || !lines.every((l) => /^upcat: /.test(l) || CHECK_LINE.test(l));
    });
    const counts = [0, 1, 2].map((s) => outcomes.filter((o) => !o.served && o.status === s).length);
    figure(
      `fuzz: ${outcomes.length} vectors: exit 0 ×${counts[0]}, 1 ×${counts[1]}, 2 ×${counts[2]}, servers started ` +
        `and stopped ×${outcomes.filter((o) => o.served).length}`,
    );
    expect(bad.map((o) => ({ argv: o.argv, status: o.status, killed: o.killed, stderr: o.stderr }))).toEqual([]);
    // The mix reached every kind of outcome, or the fuzz is not exercising much.
    expect(counts[2]).toBeGreaterThan(VECTORS / 4);
    expect(counts[0]! + counts[1]!).toBeGreaterThan(0);
  }, 120_000);
});

/** isJoinOfSubsequence says whether text is some of words, in their order, joined by single spaces. */
function isJoinOfSubsequence(text: string, words: readonly string[]): boolean {
  const memo = new Map<string, boolean>();
  const from = (at: number, next: number, first: boolean): boolean => {
    if (at === text.length) return !first;
    const key = `${at},${next},${first}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let found = false;
    for (let i = next; i < words.length && !found; i++) {
      const word = first ? words[i]! : ` ${words[i]!}`;
      if (text.startsWith(word, at)) found = from(at + word.length, i + 1, false);
    }
    memo.set(key, found);
    return found;
  };
  return from(0, 0, true);
}

describe("random send command lines against a recording peer", () => {
  const SEND_VECTORS = 150;
  let peer: Recorder;
  beforeAll(async () => {
    peer = await startRecorder();
  });
  afterAll(() => peer.stop());

  test(`${SEND_VECTORS} send vectors: every payload that reached the peer is typed words, in order`, async () => {
    const random = seeded(0x5e4d);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const sendOptions = OPTIONS.filter((o) => !o.startsWith("--protocol") && !o.startsWith("--help") && o !== "-h");
    let reached = 0;
    for (let k = 0; k < SEND_VECTORS; k++) {
      // Bounds first, so that a message after -- still ends the line.
      const argv = ["send", "--timeout", "300ms", "--retries", "0"];
      const target = pick([`127.0.0.1:${peer.port}`, `tcp://127.0.0.1:${peer.port}`, `udp://127.0.0.1:${peer.port}`]);
      const n = Math.floor(random() * 6);
      const at = Math.floor(random() * (n + 1));
      for (let i = 0; i < n; i++) {
        if (i === at) argv.push(target);
        const roll = random();
        if (roll < 0.3) {
          const option = pick(sendOptions);
          argv.push(option);
          if (random() < 0.5 && !option.includes("=")) argv.push(pick(VALUES));
        } else if (roll < 0.4) argv.push(`${pick(sendOptions)}=${pick(VALUES)}`);
        else argv.push(pick(VALUES));
      }
      if (at === n) argv.push(target);
      peer.label = argv;
      const before = peer.payloads.length;
      const r = await run(fromSource, argv, { timeoutMs: 5000 });
      expect({ argv, status: EXIT_STATUSES.includes(r.status), internal: /internal error/.test(r.stderr) }).toEqual({
        argv,
        status: true,
        internal: false,
      });
      reached += peer.payloads.length - before;
    }
    const bad = peer.payloads
      .map((p) => ({ argv: p.label, payload: textOf(p) }))
      .filter((p) => p.payload !== "" && !isJoinOfSubsequence(p.payload.replace(/\n$/, ""), p.argv.slice(1)));
    figure(`fuzz: ${SEND_VECTORS} send vectors, ${reached} payloads reached the peer, ${bad.length} not as typed`);
    expect(bad).toEqual([]);
    expect(reached).toBeGreaterThan(10);
  }, 120_000);
});

describe("random TARGET text", () => {
  test("20 000 seeded strings through parseTarget: a Target or a UsageError naming the text, nothing else", () => {
    const random = seeded(99);
    const alphabet = [
      "a",
      "Z",
      "0",
      "9",
      ":",
      "[",
      "]",
      ".",
      "-",
      "_",
      "/",
      "tcp://",
      "udp://",
      "::",
      "1",
      "ß",
      " ",
      "%",
      "@",
      "\u0000",
      "\n",
      "65535",
      "65536",
      "[::1]",
      "127.0.0.1",
    ];
    let parsed = 0;
    let rejected = 0;
    for (let k = 0; k < 20_000; k++) {
      const text = Array.from(
        { length: Math.floor(random() * 8) },
        () => alphabet[Math.floor(random() * alphabet.length)],
      ).join("");
      try {
        const t = parseTarget(text, { transport: "tcp", host: "localhost", port: 12000 });
        expect(["tcp", "udp"]).toContain(t.transport);
        expect(Number.isInteger(t.port) && t.port >= 1 && t.port <= 65535).toBe(true);
        expect(t.host.length).toBeGreaterThan(0);
        parsed++;
      } catch (err) {
        if (!(err instanceof UsageError)) throw new Error(`parseTarget(${JSON.stringify(text)}) threw ${String(err)}`);
        expect(err.message).toStartWith("invalid ");
        rejected++;
      }
    }
    expect(parsed).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });
});

describe("random bytes on stdin", () => {
  let listeners: Listener[] = [];
  let port = 0;
  beforeAll(async () => {
    listeners = await serveProtocol(upper, ["udp", "tcp"], { host: "127.0.0.1", port: 0 });
    port = listeners[0]!.port;
  });
  afterAll(() => listeners.forEach((l) => l.stop()));

  /** expectedReplies is what `send` prints for piped input: each line (terminator kept) uppercased on its own. */
  function expectedReplies(input: Uint8Array): Buffer {
    const parts: Uint8Array[] = [];
    let start = 0;
    for (let i = 0; i < input.length; i++) {
      if (input[i] === 0x0a) {
        parts.push(upcase(input.subarray(start, i + 1)));
        start = i + 1;
      }
    }
    if (start < input.length) parts.push(upcase(input.subarray(start)));
    return Buffer.concat(parts);
  }

  test("found by the fuzz: words after -- are sent, not dropped (a message that starts with '-')", async () => {
    const tcp = listeners.find((l) => l.transport === "tcp")!.port;
    const a = await run(fromSource, ["send", `127.0.0.1:${tcp}`, "--", "-5s", "0123"]);
    expect(a).toMatchObject({ status: 0, stdout: "-5S 0123\n", stderr: "" });
    const b = await run(fromSource, ["send", `127.0.0.1:${tcp}`, "--", "-x"]);
    expect(b).toMatchObject({ status: 0, stdout: "-X\n", stderr: "" });
  });

  test.each([
    ["tcp", 8, 64 << 10],
    ["udp", 8, 2 << 10],
  ] as const)(
    "%s: %i seeded random inputs: exit 0, stdout is each line uppercased, nothing on stderr",
    async (transport, count, size) => {
      const random = seeded(transport === "tcp" ? 1 : 2);
      for (let k = 0; k < count; k++) {
        const input = new Uint8Array(Math.floor(random() * size));
        for (let i = 0; i < input.length; i++) input[i] = Math.floor(random() * 256);
        const target = transport === "tcp" ? listeners.find((l) => l.transport === "tcp")!.port : port;
        const r = await run(
          fromSource,
          ["send", `--${transport}`, "--binary", "--timeout", "2s", `127.0.0.1:${target}`],
          { stdin: input, timeoutMs: 20_000 },
        );
        expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
        expect(Buffer.from(r.stdoutBytes).equals(expectedReplies(input))).toBe(true);
      }
    },
    60_000,
  );
});
