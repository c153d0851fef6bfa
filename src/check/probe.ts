// One try of one target: resolve, then a TCP/TLS handshake, a UDP probe, or a protocol's own exchange.
import { NetError } from "../errors.ts";
import type { Protocol } from "../protocol/protocol.ts";
import { dialEach } from "../transport/dial-each.ts";
import { unresolved, wrongAddress } from "./outcomes.ts";
import { request } from "../transport/request.ts";
import type { Target } from "../transport/target.ts";
import { udpRequest } from "../transport/udp-client.ts";
import { httpProbe, type HttpRequestOptions } from "./http-probe.ts";
import type { CheckTarget, Outcome } from "./result.ts";
import { stateOf } from "./state-of.ts";
import { tcpProbe, type TlsProbe } from "./tcp-probe.ts";
import { serviceProbe } from "./services/probe.ts";
import type { ReplyTest } from "./match.ts";

export interface ProbeOptions {
  timeoutMs: number;
  /** send is the probe: bytes written after the handshake (TCP) or the datagram (UDP, empty by default). */
  send?: Uint8Array;
  /** wanted is --expect / --expect-prefix / --match on the reply; with it a TCP check waits for a reply. */
  wanted?: ReplyTest;
  /** protocol makes the check speak that protocol's client and verify its answer. */
  protocol?: Protocol;
  /** tls is --tls with its options for TCP targets, and the certificate options of an https:// target. */
  tls?: Omit<TlsProbe, "serverName">;
  /** http is the request and the statuses that pass, for http:// and https:// targets. */
  http?: HttpRequestOptions;
  /** password is --password-file's, or the service's environment variable's, for a service URL without one. */
  password?: string;
}

/** MAX_REPLY is how much of a reply a check reads and keeps. */
export const MAX_REPLY = 64 * 1024;
// A chargen server never stops: a few lines are enough to verify the pattern.
const ENDLESS_SAMPLE = 512;

/** probe makes one try; it never throws for a network failure, which is a state of the target. */
export async function probe(target: CheckTarget, opts: ProbeOptions): Promise<Outcome> {
  if (target.service) return serviceProbe({ ...target, service: target.service }, opts);
  if (target.http) {
    if (!opts.http) throw new Error(`no HTTP request planned for ${target.http.url}`);
    return httpProbe(target, {
      timeoutMs: opts.timeoutMs,
      request: opts.http,
      wanted: opts.wanted,
      tls: opts.tls,
      maxReply: MAX_REPLY,
    });
  }
  const started = performance.now();
  try {
    // As nc does: the next address of a name only when this one refused or could not be reached.
    return await dialEach(
      target.host,
      target.transport,
      (address) => probeAddress(address, target, opts),
      wrongAddress,
    );
  } catch (err) {
    return unresolved(err, started);
  }
}

async function probeAddress(address: string, target: Target, opts: ProbeOptions): Promise<Outcome> {
  if (opts.protocol) return protocolProbe(address, target, opts.protocol, opts);
  if (target.transport === "tcp") {
    const tls = opts.tls && { ...opts.tls, serverName: isName(target.host) ? target.host : undefined };
    return tcpProbe(address, target.port, {
      timeoutMs: opts.timeoutMs,
      send: opts.send,
      wanted: opts.wanted,
      tls,
      maxReply: MAX_REPLY,
    });
  }
  return udpProbe(address, target.port, opts);
}

async function udpProbe(address: string, port: number, opts: ProbeOptions): Promise<Outcome> {
  const started = performance.now();
  try {
    const reply = await udpRequest({ transport: "udp", host: address, port }, opts.send ?? new Uint8Array(0), {
      timeoutMs: opts.timeoutMs,
      retries: 0,
    });
    const bytes = reply.bytes.slice(0, MAX_REPLY);
    if (opts.wanted && !opts.wanted(bytes))
      return {
        state: "mismatch",
        cause: "mismatch",
        address,
        latencyMs: reply.rttMs,
        reply: bytes,
        error: "the reply did not match",
      };
    return { state: "open", address, latencyMs: reply.rttMs, reply: bytes };
  } catch (err) {
    return { address, latencyMs: performance.now() - started, ...failure(err, "udp", opts.timeoutMs) };
  }
}

async function protocolProbe(
  address: string,
  target: Target,
  protocol: Protocol,
  opts: ProbeOptions,
): Promise<Outcome> {
  const started = performance.now();
  const role = protocol.client;
  const payload = role.speaksFirst ? new Uint8Array(0) : (opts.send ?? new TextEncoder().encode("upcat check\n"));
  const chunks: Uint8Array[] = [];
  let kept = 0;
  try {
    const result = await request({ ...target, host: address }, payload, {
      timeoutMs: opts.timeoutMs,
      retries: 0,
      role,
      maxBytes: role.endless ? ENDLESS_SAMPLE : undefined,
      onData(chunk) {
        if (kept >= MAX_REPLY) return;
        chunks.push(chunk.slice(0, MAX_REPLY - kept));
        kept += Math.min(chunk.length, MAX_REPLY - kept);
      },
    });
    const reply = Buffer.concat(chunks);
    const latencyMs = role.replies ? result.rttMs : performance.now() - started;
    if (!role.replies && target.transport === "udp") {
      // A discard server says nothing back: only an ICMP error would have told us more.
      return {
        state: "no_reply",
        cause: "timeout",
        address,
        latencyMs,
        error: `${protocol.name} servers do not reply over UDP`,
      };
    }
    const wrong = role.replies ? role.verify(reply, payload) : undefined;
    if (wrong)
      return {
        state: "mismatch",
        cause: "mismatch",
        address,
        latencyMs,
        reply,
        error: `not a ${protocol.name} reply: ${wrong}`,
      };
    if (opts.wanted && !opts.wanted(reply))
      return { state: "mismatch", cause: "mismatch", address, latencyMs, reply, error: "the reply did not match" };
    return { state: "open", address, latencyMs, reply };
  } catch (err) {
    const failedAt = performance.now() - started;
    return {
      address,
      latencyMs: failedAt,
      ...(chunks.length ? { reply: Buffer.concat(chunks) } : {}),
      ...failure(err, target.transport, opts.timeoutMs),
    };
  }
}

/** failure is the state a failed exchange leaves a target in, read from the error's code, never its words. */
function failure(err: unknown, transport: string, timeoutMs: number): Pick<Outcome, "state" | "error" | "cause"> {
  if (!(err instanceof NetError)) throw err;
  const { state, cause } = stateOf(err.code, transport === "udp" ? "udp" : "exchange");
  // A datagram that went unanswered has no reason of its own: the wait is what there is to tell.
  return { state, cause, error: state === "no_reply" ? `no reply within ${timeoutMs}ms` : err.reason };
}

function isName(host: string): boolean {
  return !/^[\d.]+$/.test(host) && !host.includes(":");
}
