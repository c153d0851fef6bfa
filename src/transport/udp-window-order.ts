// What both engines of a piped `send` over UDP share (udp-window.ts on Bun's sockets, udp-window-libc.ts through libc):
// the options, the order replies are handed over in, and the error of a request that got none.
import { NetError } from "../errors.ts";

export interface UdpWindowOptions {
  /** window is how many requests may wait for their replies at once. */
  window: number;
  timeoutMs: number;
  retries: number;
  /** onReply gets each reply, in the order of the requests. */
  onReply(reply: Uint8Array): void;
}

/**
 * sparesFor is how many free sockets a freed one always waits behind before it carries a request again, so a reply
 * that comes twice finds it free and is dropped: half the window (a quarter left some late copies on Bun's sockets
 * under load). The window takes turns on window + spares sockets, not more: a relay in front of the server counts
 * each socket as a session, 100 an address by default. A socket whose request was sent more than once also rests a
 * timeout before it joins the free ones, as a late reply to an earlier try may still come (new sockets instead would
 * be new sessions); while sockets rest, fewer requests are in flight.
 */
export const sparesFor = (window: number): number => Math.ceil(window / 2);

/** AHEAD bounds the replies held for printing behind one slow request, so memory stays bounded. */
const AHEAD = 4096;

/** ReplyOrder numbers the requests as they go out and hands their replies to onReply in that order. */
export class ReplyOrder {
  private readonly held = new Map<number, Uint8Array>();
  private taken = 0;
  private printed = 0;

  constructor(private readonly onReply: (reply: Uint8Array) => void) {}

  /** full: AHEAD replies wait behind the oldest request; no more requests go out until it is answered. */
  get full(): boolean {
    return this.taken - this.printed >= AHEAD;
  }

  /** take numbers the next request. */
  take(): number {
    return this.taken++;
  }

  /** put holds request `index`'s reply and hands over every reply whose turn has come. */
  put(index: number, reply: Uint8Array): void {
    this.held.set(index, reply);
    for (let next = this.held.get(this.printed); next !== undefined; next = this.held.get(this.printed)) {
      this.held.delete(this.printed++);
      this.onReply(next);
    }
  }
}

/** noReply is the error of a request that got no reply after every try. */
export function noReply(where: string, opts: UdpWindowOptions): NetError {
  const tries = opts.retries === 0 ? "1 try" : `${opts.retries + 1} tries`;
  const reason = `no reply after ${tries} of ${opts.timeoutMs}ms`;
  return new NetError({ op: "read", transport: "udp", address: where, reason, code: "ETIMEDOUT" });
}
