// `upcat send`: the textbook's clients. A message from the command line, else each line of stdin.
import type { CAC } from "cac";
import { NetError, UsageError } from "../errors.ts";
import { protocolNamed } from "../protocol/index.ts";
import type { Protocol } from "../protocol/protocol.ts";
import { hostPort } from "../transport/address.ts";
import { request, type RequestResult } from "../transport/request.ts";
import { streamRequest } from "../transport/stream-request.ts";
import { udpWindow } from "../transport/udp-window.ts";
import { looksLikeTarget, parseTarget, type Target, type TargetDefaults } from "../transport/target.ts";
import type { Transport } from "../transport/transport.ts";
import { withClientHint } from "./client-hints.ts";
import type { Io } from "./io.ts";
import { lines } from "./lines.ts";
import { parseCount, parseDuration } from "./option-values.ts";
import { quote } from "../text/shown.ts";
import { readEscapes } from "../text/escapes.ts";

/** DEFAULTS are the options' defaults as a user types them, stated once for the help and the code. */
const DEFAULTS = { timeout: "2s", retries: "2", protocol: "upper" } as const;

/** TEXTBOOK_PROMPT is what the textbook's TCPClient.py asks on a terminal. */
const TEXTBOOK_PROMPT = "Input lowercase sentence:";
const DEFAULT_HOST = "localhost";

interface SendOptions {
  protocol: Protocol;
  target: Target;
  timeoutMs: number;
  retries: number;
  json: boolean;
  raw: boolean;
  binary: boolean;
  maxBytes: number | undefined;
  /** verbose: a line on stderr for each exchange, where it went and what came back (nc -v). */
  verbose: boolean;
  /** heard counts the replies this run got: a server that answered and then went quiet may be limiting us. */
  heard?: Heard;
}

/** Heard is how many replies a run of send has had so far. */
interface Heard {
  replies: number;
}

/**
 * limitedHint is what to say when no reply came from a UDP server that had answered before: it is running, and one of
 * its bounds (serve's --udp-reply-rate, a relay's) may be dropping our replies, so "is a server running there?" would
 * send the user the wrong way.
 */
function limitedHint(err: unknown, heard: Heard): unknown {
  if (!(err instanceof NetError) || err.transport !== "udp" || err.code !== "ETIMEDOUT" || heard.replies === 0)
    return err;
  const n = heard.replies;
  return err.withHint(
    `the server answered ${n} request${n === 1 ? "" : "s"} before, so it is running: it may be limiting replies to ` +
      `this client; try --retries or --timeout`,
  );
}

/** toSendOptions checks the command line as a whole, before any socket opens. */
function toSendOptions(
  targetArg: string | undefined,
  raw: Record<string, unknown>,
  asText: readonly string[] = [],
): SendOptions {
  if (raw.udp && raw.tcp) throw new UsageError("--udp and --tcp cannot be used together");
  if (Array.isArray(raw.protocol)) throw new UsageError("--protocol can be given once");
  const protocol = protocolNamed(String(raw.protocol ?? DEFAULTS.protocol));
  const forced: Transport | undefined = raw.udp ? "udp" : raw.tcp ? "tcp" : undefined;
  const text = targetArg ?? `${DEFAULT_HOST}:${protocol.port}`;
  const target = parseSendTarget(text, { transport: forced ?? "tcp", host: DEFAULT_HOST, port: protocol.port }, asText);
  if (forced && target.transport !== forced) {
    throw new UsageError(`${text} is a ${target.transport} target and cannot be used with --${forced}`);
  }
  if (raw.raw && !protocol.client.show)
    throw new UsageError(
      `--raw is for protocols whose replies are read for you, such as time; ${protocol.name} replies are printed as ` +
        `they are`,
    );
  if (raw.bytes !== undefined && !protocol.client.endless)
    throw new UsageError(`--bytes is for protocols that talk until you stop them, such as chargen`);
  return {
    protocol,
    target,
    timeoutMs: parseDuration(raw.timeout ?? DEFAULTS.timeout, "--timeout"),
    retries: parseCount(raw.retries ?? DEFAULTS.retries, "--retries", 100),
    json: Boolean(raw.json),
    raw: Boolean(raw.raw),
    binary: Boolean(raw.binary),
    maxBytes: raw.bytes === undefined ? undefined : parseCount(raw.bytes, "--bytes", Number.MAX_SAFE_INTEGER),
    verbose: Boolean(raw.verbose),
  };
}

async function send(
  first: string | undefined,
  rest: string[],
  raw: Record<string, unknown>,
  io: Io,
  heard?: Heard,
): Promise<number> {
  // Words after `--` are message text, always: the way to send text that looks like an option or a target.
  const afterDashes = Array.isArray(raw["--"]) ? raw["--"].map(String) : [];
  // The first word is the TARGET when it looks like one (and then it must be a valid one), or when
  // the server speaks first and takes no message. Nothing is sent by guess.
  const speaksFirst = protocolNamed(String(raw.protocol ?? DEFAULTS.protocol)).client.speaksFirst;
  const targetArg = first !== undefined && (speaksFirst || looksLikeTarget(first)) ? first : undefined;
  const words = [...(targetArg === undefined && first !== undefined ? [first, ...rest] : rest), ...afterDashes];
  const opts = { ...toSendOptions(targetArg, raw, first === undefined ? [] : [first, ...rest]), heard };
  // The message byte for byte, or with --escapes as check --send reads it (echo -e's sense: not nc -e, which
  // runs a program).
  if (raw.escapes && (words.length === 0 || opts.protocol.client.speaksFirst))
    throw new UsageError("--escapes reads the message given on the command line; stdin is sent byte for byte");
  const message = (text: string) =>
    raw.escapes ? readEscapes(text, "message (--escapes)") : new TextEncoder().encode(text);

  if (opts.protocol.client.speaksFirst) {
    // The server talks unasked: nothing to send, and stdin is left alone.
    if (words.length > 0)
      throw new UsageError(`${opts.protocol.name} servers take no message; drop ${quote(words.join(" "))}`);
    await exchange(new Uint8Array(0), opts, io);
  } else if (words.length > 0) {
    await exchange(message(words.join(" ")), opts, io);
  } else if (io.stdinIsTTY) {
    // Interactive, as the textbook: prompt, send the line without its newline, print the reply.
    const input = lines(io.stdin())[Symbol.asyncIterator]();
    for (;;) {
      io.prompt(TEXTBOOK_PROMPT);
      const next = await input.next();
      if (next.done) break;
      await exchange(trimNewline(next.value), opts, io);
    }
    // ^D ends the prompt's line, so the shell's prompt starts on its own.
    io.prompt("\n");
  } else if (opts.json || !opts.protocol.client.replies) {
    // Piped, one record (or one count) a line: each line goes as read, terminator included.
    for await (const line of lines(io.stdin())) await exchange(line, opts, io);
  } else {
    // Piped: lines go out without waiting for replies, and the output is the input transformed, byte for byte.
    await pipelined(opts, io);
  }
  return 0;
}

/**
 * UDP_WINDOW is how many piped lines wait for their replies at once over UDP. 32, on 48 sockets (sparesFor): as fast
 * as 64 to a default serve and to cref (measured), and two runs in a row fit the 100 sessions an address a default
 * relay in front of the server keeps for five idle minutes.
 */
const UDP_WINDOW = 32;

/**
 * pipelined sends piped stdin without waiting for each reply: over TCP as one stream on one
 * connection (nc -N), over UDP as a datagram a line with a window in flight, replies in order.
 */
async function pipelined(opts: SendOptions, io: Io): Promise<void> {
  const printer = replyPrinter(opts, io);
  const started = performance.now();
  if (opts.target.transport === "tcp") {
    await streamRequest(opts.target, io.stdin(), { timeoutMs: opts.timeoutMs, onData: printer.data });
    printer.end();
  } else {
    await udpWindow(opts.target, lines(io.stdin()), {
      window: UDP_WINDOW,
      timeoutMs: opts.timeoutMs,
      retries: opts.retries,
      onReply(reply) {
        if (opts.heard) opts.heard.replies++;
        printer.data(reply);
        printer.end();
      },
    });
  }
  if (opts.verbose) {
    const { transport, host, port } = opts.target;
    io.err(
      `upcat: ${transport} ${hostPort(host, port)}: stdin sent, ${printer.received()} bytes back in ` +
        `${ms(performance.now() - started)}`,
    );
  }
  await io.flush();
}

/** ms is a time for --verbose's lines: 0.123ms, 12.3ms, 1234ms. */
function ms(elapsed: number): string {
  return `${+elapsed.toPrecision(3)}ms`;
}

/**
 * replyPrinter prints a reply as it comes and ends it in a newline, as the textbook's print() does, unless it has one
 * or --binary.
 */
function replyPrinter(opts: SendOptions, io: Io) {
  let lastByte: number | undefined;
  let received = 0;
  return {
    data(chunk: Uint8Array) {
      if (chunk.length > 0) lastByte = chunk[chunk.length - 1];
      received += chunk.length;
      io.out(chunk);
    },
    received: () => received,
    end() {
      if (!opts.binary && lastByte !== 10) io.out("\n");
      lastByte = undefined;
    },
  };
}

/**
 * exchange sends one message and prints its reply: as it arrives and ending in a newline as the
 * textbook's print() does (unless it ends in one already, or --binary asks for the bytes alone),
 * as text read for people, or as a JSON line with --json.
 */
async function exchange(payload: Uint8Array, opts: SendOptions, io: Io): Promise<void> {
  const role = opts.protocol.client;
  const whole = opts.json || role.show !== undefined;
  const chunks: Uint8Array[] = [];
  const printer = replyPrinter(opts, io);
  const result = await request(opts.target, payload, {
    timeoutMs: opts.timeoutMs,
    retries: opts.retries,
    role,
    maxBytes: opts.maxBytes,
    onData: whole ? (chunk) => chunks.push(chunk) : printer.data,
  });
  if (opts.heard) opts.heard.replies++;
  const reply = Buffer.concat(chunks);
  if (opts.verbose) {
    const tries = result.attempts > 1 ? ` (${result.attempts} attempts)` : "";
    io.err(
      `upcat: ${opts.target.transport} ${hostPort(result.address, opts.target.port)}: ${payload.length} bytes sent, ` +
        `${result.bytes} back in ${ms(result.rttMs)}${tries}`,
    );
  }
  if (role.show) {
    const wrong = role.verify(reply, payload);
    if (wrong)
      throw new NetError({
        op: "read",
        transport: opts.target.transport,
        address: hostPort(result.address, opts.target.port),
        reason: wrong,
      });
  }
  if (opts.json) io.out(`${JSON.stringify(record(opts, payload, result, reply))}\n`);
  else if (!role.replies) io.out(`${payload.length} bytes sent\n`);
  else if (role.show) io.out(`${opts.raw ? String(readNumber(reply)) : role.show(reply)}\n`);
  else printer.end();
  await io.flush();
}

/** parseSendTarget is parseTarget, with the way out for text that only looks like a target. */
function parseSendTarget(text: string, defaults: TargetDefaults, asText: readonly string[]): Target {
  try {
    return parseTarget(text, defaults);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    throw new UsageError(`${err.message}; to send it as text: upcat send -- ${asText.map(shellQuote).join(" ")}`);
  }
}

/** shellQuote writes a word so that a POSIX shell reads it back unchanged. */
function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** readNumber is the reply as the big-endian number --raw prints (time). */
function readNumber(reply: Uint8Array): number {
  return reply.reduce((n, b) => n * 256 + b, 0);
}

function record(opts: SendOptions, payload: Uint8Array, result: RequestResult, reply: Uint8Array) {
  const { target, protocol } = opts;
  return {
    target: `${target.transport}://${hostPort(target.host, target.port)}`,
    proto: target.transport,
    protocol: protocol.name,
    address: result.address,
    port: target.port,
    sent: payload.length,
    reply: new TextDecoder().decode(reply),
    ...(protocol.client.show ? { value: readNumber(reply), shown: protocol.client.show(reply) } : {}),
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
    .command(
      "send [target] [...message]",
      "Send a message and print the reply (TARGET defaults to localhost and the protocol's port)",
    )
    .option("--udp", "Send over UDP (as udp://host:port)")
    .option("--tcp", "Send over TCP (the default for host:port)")
    .option("--timeout <duration>", "Wait this long for a UDP reply, a TCP connect or each TCP read", {
      default: DEFAULTS.timeout,
    })
    .option("--retries <n>", "Send a UDP datagram again this many times when no reply comes", {
      default: DEFAULTS.retries,
    })
    .option("--protocol <name>", "Speak this protocol's client (see `upcat protocols`)", { default: DEFAULTS.protocol })
    .option("--raw", "Print the number a time server sent, not the date")
    .option("--bytes <n>", "Stop after this many bytes of a talking server (chargen)")
    .option("--binary", "Print replies byte for byte, adding no newline after them (for binary data)")
    .option("--json", "Print one JSON object per reply: target, reply, bytes, rtt_ms")
    .option(
      "-e, --escapes",
      "Read \\r \\n \\t \\0 \\\\ \\xHH in the message, as check --send does (echo -e; not nc -e)",
    )
    .option("-v, --verbose", "Say on stderr where each message went: address, bytes sent and back, time (nc -v)")
    .example("  upcat send hello                          # tcp localhost:12000, prints HELLO")
    .example("  upcat send udp://127.0.0.1:12000 hello    # the same over UDP")
    .example("  printf 'one\\ntwo\\n' | upcat send --udp    # one request per line")
    .example("  upcat send --json '[::1]:12000' hi | jq .rtt_ms")
    .example("  upcat send -- 'note: starts like a target'  # text after -- is always the message")
    .example("  upcat send -e 'tab\\there\\x21'                # TAB<tab>HERE!: escapes, as check --send reads them")
    .example("  upcat send --protocol time udp://127.0.0.1      # 2026-11-24T06:40:00Z")
    .example("  upcat send --protocol chargen --bytes 740 127.0.0.1:19")
    .action((first: string | undefined, rest: string[], options: Record<string, unknown>) => {
      const heard: Heard = { replies: 0 };
      return send(first, rest, options, io, heard).catch((err) => {
        throw withClientHint(limitedHint(err, heard));
      });
    });
}
