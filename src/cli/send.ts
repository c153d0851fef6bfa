// `upcat send`: the textbook's clients. A message from the command line, else each line of stdin.
import type { CAC } from "cac";
import { UsageError } from "../errors.ts";
import { request, type RequestResult } from "../transport/request.ts";
import { looksLikeTarget, parseTarget, type Target, type Transport } from "../transport/target.ts";
import type { Io } from "./io.ts";
import { lines } from "./lines.ts";
import { parseCount, parseDuration } from "./option-values.ts";

/** TEXTBOOK_PROMPT is what the textbook's TCPClient.py asks on a terminal. */
const TEXTBOOK_PROMPT = "Input lowercase sentence:";
const DEFAULT_TARGET = "localhost:12000";

interface SendOptions {
  target: Target;
  timeoutMs: number;
  retries: number;
  json: boolean;
}

/** toSendOptions checks the command line as a whole, before any socket opens. */
function toSendOptions(targetArg: string | undefined, raw: Record<string, unknown>): SendOptions {
  if (raw.udp && raw.tcp) throw new UsageError("--udp and --tcp cannot be used together");
  const forced: Transport | undefined = raw.udp ? "udp" : raw.tcp ? "tcp" : undefined;
  const text = targetArg ?? DEFAULT_TARGET;
  const target = parseTarget(text, { transport: forced ?? "tcp", host: "localhost", port: 12000 });
  if (forced && target.transport !== forced) {
    throw new UsageError(`${text} is a ${target.transport} target and cannot be used with --${forced}`);
  }
  return {
    target,
    timeoutMs: parseDuration(raw.timeout ?? "2s", "--timeout"),
    retries: parseCount(raw.retries ?? 2, "--retries", 100),
    json: Boolean(raw.json),
  };
}

async function send(first: string | undefined, rest: string[], raw: Record<string, unknown>, io: Io): Promise<number> {
  // The first word is the TARGET only if it looks like one; otherwise the message starts there.
  const targetArg = first !== undefined && looksLikeTarget(first) ? first : undefined;
  const words = targetArg === undefined && first !== undefined ? [first, ...rest] : rest;
  const opts = toSendOptions(targetArg, raw);
  const encoder = new TextEncoder();

  if (words.length > 0) {
    await exchange(encoder.encode(words.join(" ")), opts, io);
  } else if (io.stdinIsTTY) {
    // Interactive, as the textbook: prompt, send the line without its newline, print the reply.
    const input = lines(Bun.stdin.stream())[Symbol.asyncIterator]();
    for (;;) {
      io.prompt(TEXTBOOK_PROMPT);
      const next = await input.next();
      if (next.done) break;
      await exchange(trimNewline(next.value), opts, io);
    }
  } else {
    // Piped: each line goes as read, terminator included, so the output is the input transformed, byte for byte.
    for await (const line of lines(Bun.stdin.stream())) await exchange(line, opts, io);
  }
  return 0;
}

/** exchange sends one message and prints its reply: raw bytes, or a JSON line with --json. */
async function exchange(payload: Uint8Array, opts: SendOptions, io: Io): Promise<void> {
  const chunks: Uint8Array[] = [];
  const result = await request(opts.target, payload, {
    timeoutMs: opts.timeoutMs,
    retries: opts.retries,
    onData: opts.json ? (chunk) => chunks.push(chunk) : (chunk) => io.out(chunk),
  });
  if (opts.json) io.out(`${JSON.stringify(record(opts.target, result, Buffer.concat(chunks)))}\n`);
  else if (io.stdoutIsTTY) io.out("\n");
  await io.flush();
}

function record(target: Target, result: RequestResult, reply: Uint8Array) {
  return {
    target: `${target.transport}://${target.host.includes(":") ? `[${target.host}]` : target.host}:${target.port}`,
    proto: target.transport,
    address: result.address,
    port: target.port,
    reply: new TextDecoder().decode(reply),
    bytes: result.bytes,
    rtt_ms: Math.round(result.rttMs * 1000) / 1000,
    attempts: result.attempts,
  };
}

function trimNewline(line: Uint8Array): Uint8Array {
  let end = line.length;
  if (end > 0 && line[end - 1] === 10) end--;
  if (end > 0 && line[end - 1] === 13) end--;
  return line.subarray(0, end);
}

export function registerSend(cli: CAC, io: Io): void {
  cli
    .command("send [target] [...message]", "Send a message and print the reply (TARGET defaults to localhost:12000)")
    .option("--udp", "Send over UDP (as udp://host:port)")
    .option("--tcp", "Send over TCP (the default for host:port)")
    .option("--timeout <duration>", "Wait this long for a UDP reply, a TCP connect or each TCP read", { default: "2s" })
    .option("--retries <n>", "Send a UDP datagram again this many times when no reply comes", { default: 2 })
    .option("--json", "Print one JSON object per reply: target, reply, bytes, rtt_ms")
    .example("  upcat send hello                          # tcp localhost:12000, prints HELLO")
    .example("  upcat send udp://127.0.0.1:12000 hello    # the same over UDP")
    .example("  printf 'one\\ntwo\\n' | upcat send --udp    # one request per line")
    .example("  upcat send --json '[::1]:12000' hi | jq .rtt_ms")
    .action((first: string | undefined, rest: string[], options: Record<string, unknown>) => send(first, rest, options, io));
}
