// One try of an http:// or https:// target: the TLS handshake judged as --tls judges it, then one request with Bun's
// fetch. Under --follow each redirect is followed here, hop by hop (fetch itself never follows one), and redirect.ts
// says what may go with each hop.
import { errnoCode, REASONS } from "../errors.ts";
import { cut } from "../text/shown.ts";
import { unresolved, wrongAddress } from "./outcomes.ts";
import { type Chain, follow, requestHeaders, shown, startChain, withCredentials } from "./redirect.ts";
import { dialEach } from "../transport/dial-each.ts";
import { type Deadline, deadlineIn, timeLimit } from "../transport/time-limit.ts";
import { VERSION } from "../version.ts";
import type { Cause, CheckState, CheckTarget, HttpInfo, Outcome, TlsInfo } from "./result.ts";
import { stateOf } from "./state-of.ts";
import { tcpProbe, type TlsProbe } from "./tcp-probe.ts";
import { ipVersion } from "../transport/ip.ts";
import type { ReplyTest } from "./match.ts";

/** StatusSet is --status: the codes that pass, as ranges, and the text the user typed for messages. */
export interface StatusSet {
  readonly text: string;
  readonly ranges: readonly (readonly [number, number])[];
}

/** statusIn says whether a status is one of the set. */
export function statusIn(set: StatusSet, status: number): boolean {
  return set.ranges.some(([low, high]) => status >= low && status <= high);
}

/** HttpRequestOptions is what an HTTP check sends and what it accepts. */
export interface HttpRequestOptions {
  readonly method: string;
  readonly headers: readonly (readonly [string, string])[];
  /** body is --send: the request body. */
  readonly body?: Uint8Array;
  readonly status: StatusSet;
  /** follow makes the check follow redirects (at most MAX_REDIRECTS), each hop inside the one --timeout. */
  readonly follow: boolean;
  /**
   * allowDowngrade lets a followed redirect take an https:// target to plain http; without it that redirect fails the
   * check before anything is sent over http.
   */
  readonly allowDowngrade?: boolean;
}

export interface HttpProbeOptions {
  /** timeoutMs bounds the whole try: handshakes, every redirect, the headers and the body read. */
  timeoutMs: number;
  request: HttpRequestOptions;
  /** wanted is --expect / --expect-prefix / --match on the body; without it the status alone decides, unread. */
  wanted?: ReplyTest;
  /** tls is for https:// targets: --ca, --insecure and --cert-days. */
  tls?: Omit<TlsProbe, "serverName">;
  maxReply: number;
}

/** MAX_REDIRECTS bounds --follow, as curl's --max-redirs does (its default is 50; a health check needs few). */
export const MAX_REDIRECTS = 10;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Step is what one hop came to: an outcome, or a redirect to follow (its Location as sent, and resolved). */
type Step = { outcome: Outcome } | { next: URL; status: number; location: string };

/** httpProbe makes one try; it never throws for a network or HTTP failure, which is a state of the target. */
export async function httpProbe(target: CheckTarget, opts: HttpProbeOptions): Promise<Outcome> {
  const started = performance.now();
  const deadline = deadlineIn(opts.timeoutMs);
  let hop = startChain(target.http!.url, opts.request.headers);
  let method = opts.request.method;
  let body = opts.request.body;
  const state: HopState = { redirects: 0, fetchMs: 0, tls: undefined, address: undefined, handshake: undefined };
  for (;;) {
    const { url, chain } = hop;
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
    let step: Step;
    try {
      // As nc does: the next address of a name only when this one refused or could not be reached.
      step = await dialEach(
        host,
        "tcp",
        (address) => exchange(address, host, port, url, chain, { method, body }, opts, deadline, state),
        (s) => "outcome" in s && wrongAddress(s.outcome),
      );
    } catch (err) {
      return { ...unresolved(err, started), http: httpInfo(null, state.redirects) };
    }
    if ("outcome" in step) return step.outcome;
    if (state.redirects >= MAX_REDIRECTS) {
      return fail(
        state,
        "error",
        "too_many_redirects",
        `more than ${MAX_REDIRECTS} redirects (the last to ${shown(step.next)})`,
        { status: step.status, location: step.location },
      ).outcome;
    }
    if (step.next.protocol !== "http:" && step.next.protocol !== "https:") {
      return fail(
        state,
        "error",
        "not_http",
        `HTTP ${step.status} to ${shown(step.next)}, which is not an http:// or https:// URL`,
        { status: step.status, location: step.location },
      ).outcome;
    }
    // Refused before anything goes over http: not a request line, not a header.
    const next = follow(hop, step.next, step.status, opts.request.allowDowngrade === true);
    if ("refused" in next)
      return fail(state, "error", "other", next.error, { status: step.status, location: step.location }).outcome;
    state.redirects++;
    // As browsers and curl -L do: 303, and 301/302 after a POST, turn into a GET without a body.
    if (step.status === 303 || ((step.status === 301 || step.status === 302) && method === "POST")) {
      method = method === "HEAD" ? "HEAD" : "GET";
      body = undefined;
    }
    hop = next;
  }
}

interface HopState {
  redirects: number;
  fetchMs: number;
  /** tls is the handshake of the hop being asked, and so of the final answer: undefined for a plain http hop. */
  tls: TlsInfo | undefined;
  address: string | undefined;
  /** handshake names the connection tls was read from, so a redirect to the same server is not judged twice. */
  handshake: string | undefined;
}

function httpInfo(res: Response | null, redirects: number, location: string | null = null): HttpInfo {
  return { status: res?.status ?? null, reason: res ? res.statusText || null : null, location, redirects };
}

/** fail is a failed hop, with what was seen of it so far. */
function fail(
  state: HopState,
  s: CheckState,
  cause: Cause,
  error: string,
  extra: { status?: number; location?: string; reply?: Uint8Array; res?: Response } = {},
): { outcome: Outcome } {
  const http: HttpInfo = extra.res
    ? httpInfo(extra.res, state.redirects, extra.res.headers.get("location"))
    : { status: extra.status ?? null, reason: null, location: extra.location ?? null, redirects: state.redirects };
  const outcome: Outcome = {
    state: s,
    cause,
    error,
    latencyMs: state.fetchMs,
    ...(state.address ? { address: state.address } : {}),
    ...(extra.reply ? { reply: extra.reply } : {}),
    ...(state.tls ? { tls: state.tls } : {}),
    http,
  };
  return { outcome };
}

/**
 * exchange is one request to one address of one hop; a redirect to follow comes back as `next`. url never carries
 * credentials: the chain says whether the target's go with this hop.
 */
async function exchange(
  address: string,
  host: string,
  port: number,
  url: URL,
  chain: Chain,
  req: { method: string; body?: Uint8Array },
  opts: HttpProbeOptions,
  deadline: Deadline,
  state: HopState,
): Promise<Step> {
  state.address = address;
  const secure = url.protocol === "https:";
  const serverName = ipVersion(host) ? undefined : host;
  const left = () => Math.max(1, deadline.left());
  // What the verdict says of TLS is what the connection of this hop was: nothing, for plain http.
  if (!secure) [state.tls, state.handshake] = [undefined, undefined];
  const key = `${address} ${port} ${serverName ?? ""}`;
  if (secure && state.handshake !== key) {
    // fetch says nothing of the certificate: one handshake of our own reads it and grades it as --tls does.
    const handshake = await tcpProbe(address, port, {
      timeoutMs: left(),
      tls: { insecure: false, ...opts.tls, serverName },
      maxReply: 0,
    });
    [state.tls, state.handshake] = [handshake.tls, key];
    // The handshake had what was left of --timeout; the user is told the --timeout they gave.
    const words = handshake.state === "timeout" ? { error: `no TLS handshake within ${opts.timeoutMs}ms` } : {};
    if (handshake.state !== "open") {
      return { outcome: { ...handshake, ...words, http: httpInfo(null, state.redirects) } };
    }
  }
  // Dial the address this loop chose, naming the host as the URL does (Host, SNI, the certificate's name).
  const dial = withCredentials(chain, url);
  dial.hostname = address.includes(":") ? `[${address}]` : address;
  const headers = new Headers({ "user-agent": `upcat/${VERSION}`, host: url.host });
  for (const [name, value] of requestHeaders(chain)) {
    if (/^(host|user-agent)$/i.test(name)) headers.set(name, value);
    else headers.append(name, value);
  }
  const controller = new AbortController();
  const timer = timeLimit(() => controller.abort(), left());
  const t0 = performance.now();
  const spent = () => {
    state.fetchMs += performance.now() - t0;
    timer.clear();
  };
  let res: Response;
  try {
    res = await fetch(dial, {
      method: req.method,
      headers,
      body: req.body,
      redirect: "manual",
      signal: controller.signal,
      // Proxy variables are ignored: a check says whether this machine reaches the target, as nc would.
      proxy: false,
      // A fresh connection every try: a pooled one would pass a server that no longer accepts.
      keepalive: false,
      tls: secure
        ? { serverName, rejectUnauthorized: !opts.tls?.insecure, ...(opts.tls?.ca ? { ca: opts.tls.ca } : {}) }
        : undefined,
    } as RequestInit);
  } catch (err) {
    spent();
    return fetchFailure(err, controller.signal.aborted, opts.timeoutMs, state);
  }
  const location = res.headers.get("location");
  if (opts.request.follow && REDIRECT_STATUSES.has(res.status) && location !== null) {
    spent();
    void res.body?.cancel().catch(() => {});
    try {
      return { next: new URL(location, url), status: res.status, location };
    } catch {
      return fail(
        state,
        "error",
        "not_http",
        `HTTP ${res.status} with a Location that is not a URL: ${JSON.stringify(shown(location))}`,
        { res },
      );
    }
  }
  if (!statusIn(opts.request.status, res.status)) {
    spent();
    void res.body?.cancel().catch(() => {});
    const redirect =
      REDIRECT_STATUSES.has(res.status) && location !== null
        ? `, to ${shown(location)} (not followed: add --follow, or --status ${res.status})`
        : "";
    return fail(
      state,
      "mismatch",
      "http_status",
      `HTTP ${res.status}${res.statusText ? ` ${cut(res.statusText)}` : ""}${redirect}; wanted --status ` +
        `${opts.request.status.text}`,
      { res },
    );
  }
  if (!opts.wanted) {
    spent();
    void res.body?.cancel().catch(() => {});
    return {
      outcome: {
        state: "open",
        address,
        latencyMs: state.fetchMs,
        ...(state.tls ? { tls: state.tls } : {}),
        http: httpInfo(res, state.redirects, location),
      },
    };
  }
  return readBody(res, opts, controller, state, spent);
}

/** readBody reads the body until --expect/--match find what they want in it, it ends, or the time is up. */
async function readBody(
  res: Response,
  opts: HttpProbeOptions,
  controller: AbortController,
  state: HopState,
  spent: () => void,
): Promise<Step> {
  const reader = res.body?.getReader();
  let reply: Uint8Array = new Uint8Array(0);
  const mismatch = (error: string) => fail(state, "mismatch", "mismatch", error, { reply, res });
  try {
    for (;;) {
      const chunk = reader ? await reader.read() : { done: true as const, value: undefined };
      if (chunk.done) {
        spent();
        return mismatch("the body did not match");
      }
      const room = opts.maxReply - reply.length;
      reply = concat(reply, chunk.value.length > room ? chunk.value.subarray(0, room) : chunk.value);
      if (opts.wanted!(reply)) {
        spent();
        void reader!.cancel().catch(() => {});
        return {
          outcome: {
            state: "open",
            address: state.address,
            latencyMs: state.fetchMs,
            reply,
            ...(state.tls ? { tls: state.tls } : {}),
            http: httpInfo(res, state.redirects, res.headers.get("location")),
          },
        };
      }
      if (reply.length >= opts.maxReply) {
        spent();
        controller.abort();
        return mismatch(`no match in the first ${opts.maxReply} bytes of the body`);
      }
      // A body that has left --expect-prefix never matches: the rest of it need not come.
      const differs = opts.wanted!.cannotMatch?.(reply);
      if (differs !== undefined) {
        spent();
        controller.abort();
        return mismatch(`the body differs from --expect-prefix at byte ${differs}`);
      }
    }
  } catch (err) {
    spent();
    if (controller.signal.aborted) {
      return reply.length > 0
        ? mismatch(`the body did not match within ${opts.timeoutMs}ms`)
        : fail(state, "timeout", "timeout", `no body within ${opts.timeoutMs}ms`, { res });
    }
    return fail(state, "error", "other", `reading the body: ${err instanceof Error ? err.message : String(err)}`, {
      reply,
      res,
    });
  }
}

/** fetchFailure is the state a failed request leaves a target in, read from the error's code, never its words. */
function fetchFailure(err: unknown, aborted: boolean, timeoutMs: number, state: HopState): Step {
  if (aborted) return fail(state, "timeout", "timeout", `no HTTP response within ${timeoutMs}ms`);
  const code = errnoCode(err) ?? (err as { code?: string }).code ?? "";
  const { state: s, cause = "other" } = stateOf(code, "http");
  switch (cause) {
    case "refused":
      return fail(state, s, cause, "connection refused");
    case "unreachable":
      return fail(state, s, cause, code === "EHOSTUNREACH" ? "host unreachable" : "network unreachable");
    case "no_data":
      return fail(state, s, cause, "connection closed by peer without an HTTP response");
    case "not_tls":
      return fail(state, s, cause, "TLS handshake failed (does this port speak TLS?)");
    case "not_http":
      return fail(state, s, cause, "the answer is not an HTTP response (does this port speak HTTP?)");
    case "cert_untrusted":
      return fail(state, s, cause, `certificate not trusted: ${code} (try --ca FILE, or --insecure)`);
  }
  // Files ran short here: fetch says "EMFILE: Was there a typo in the url or port?" (Bun 1.4.5).
  if (code === "EMFILE" || code === "ENFILE") return fail(state, s, cause, REASONS[code]!);
  return fail(
    state,
    s,
    cause,
    err instanceof Error ? err.message.replace(/\. For more information.*$/, "") : String(err),
  );
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
