// What each hop of a followed redirect may carry: the user's credentials stay on the origin they were typed for, and
// an https:// check never quietly goes on over plain http.
import { redact } from "../text/redact.ts";
import { cut } from "../text/shown.ts";

/** Header is one --header as the user typed it: a name and a value. */
export type Header = readonly [string, string];

/**
 * SECRET_HEADERS are the headers that carry a credential, as curl's list since CVE-2022-27776 does. Host goes with
 * them: an override of it names the server the user typed, and on another server it would be a lie.
 */
const SECRET_HEADERS = /^(authorization|cookie|proxy-authorization|host)$/i;

/**
 * Chain is a redirect chain as far as it has gone: the target as typed, and whether its credentials still go with
 * each request.
 */
export interface Chain {
  /** first is the target as typed, without its credentials: the one origin they are for. */
  readonly first: URL;
  /** username and password are the target's user:pass@, percent-encoded as the URL parser left them ("" if none). */
  readonly username: string;
  readonly password: string;
  /** headers are the user's --header values, all of them. */
  readonly headers: readonly Header[];
  /**
   * trusted stays true while every hop so far kept to first's origin and carried no credentials of its own. Once
   * false it never comes back: a foreign server that redirects back cannot choose where the credentials go.
   */
  readonly trusted: boolean;
}

/** Hop is where the next request goes: its URL, never with credentials in it (they are added at the dial). */
export interface Hop {
  readonly chain: Chain;
  readonly url: URL;
}

/** Refusal is a redirect that must not be followed, as data: the probe makes it a failed outcome. */
export interface Refusal {
  readonly refused: "downgrade";
  readonly error: string;
}

/** startChain is the first hop: the target itself, its credentials kept aside. */
export function startChain(target: string, headers: readonly Header[]): Hop {
  const typed = new URL(target);
  const first = bare(typed);
  return { chain: { first, username: typed.username, password: typed.password, headers, trusted: true }, url: first };
}

/**
 * follow is the hop after a redirect from `from` (the URL just asked) to `next` (its Location, resolved), or why it
 * must not be taken. allowDowngrade lets an https:// target go on over plain http.
 */
export function follow(hop: Hop, next: URL, status: number, allowDowngrade: boolean): Hop | Refusal {
  const { chain } = hop;
  if (chain.first.protocol === "https:" && next.protocol === "http:" && !allowDowngrade) {
    return {
      refused: "downgrade",
      error: `redirected from https to http: HTTP ${status} to ${shown(next)}`,
    };
  }
  const ownCredentials = next.username !== "" || next.password !== "";
  const sameCredentials = next.username === chain.username && next.password === chain.password;
  const trusted = chain.trusted && sameOrigin(chain.first, next) && (!ownCredentials || sameCredentials);
  return { chain: { ...chain, trusted }, url: bare(next) };
}

/** requestHeaders are the user's headers that go with the next request: all of them only while the chain is trusted. */
export function requestHeaders(chain: Chain): readonly Header[] {
  return chain.trusted ? chain.headers : chain.headers.filter(([name]) => !SECRET_HEADERS.test(name));
}

/**
 * withCredentials is a copy of url with the target's user:pass@ put back where the chain is trusted, for the fetch
 * that sends them (as Basic authorization); elsewhere a copy without them.
 */
export function withCredentials(chain: Chain, url: URL): URL {
  const dial = new URL(url);
  if (chain.trusted) {
    // Both are already percent-encoded, and the setters leave an escape as it is.
    dial.username = chain.username;
    dial.password = chain.password;
  }
  return dial;
}

/**
 * sameOrigin compares scheme, host and port, as browsers do; the URL parser has lowercased the host and dropped a
 * default port, so http://h and http://H:80 are one origin.
 */
export function sameOrigin(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.hostname === b.hostname && a.port === b.port;
}

/** shown is a URL as a message quotes it: no password, and cut, since a server wrote it. */
export function shown(url: URL | string): string {
  return cut(redact(typeof url === "string" ? url : url.href));
}

/** bare is url without user:pass@. */
function bare(url: URL): URL {
  const out = new URL(url);
  out.username = "";
  out.password = "";
  return out;
}
