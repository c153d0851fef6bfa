// The one shape every protocol takes, so that the UDP and TCP transports can carry any of them.
import type { Transport } from "../transport/transport.ts";

/** Peer is who sent the bytes: the transport and the remote address. */
export interface Peer {
  readonly transport: Transport;
  readonly address: string;
  readonly port: number;
}

/**
 * StreamSession is one connection's state. Each method returns the bytes to write back (or nothing);
 * writing, backpressure, half-close and limits are the transport's business.
 */
export interface StreamSession {
  /** greet is called once when the connection opens: what the server says first. */
  greet?(): Uint8Array | undefined;
  /** closeAfterGreeting: the server closes once the greeting is written (qotd, daytime, time). */
  readonly closeAfterGreeting?: boolean;
  /**
   * data is called with each chunk as it arrives; without it, input is read and dropped. The chunk
   * is the session's to keep or to change in place: Bun hands each TCP read over in a fresh buffer.
   */
  data?(chunk: Uint8Array): Uint8Array | undefined;
  /** end is called when the peer has half-closed; what it returns is the last output. */
  end?(): Uint8Array | undefined;
  /**
   * pull makes output on demand, for a server that talks until the client goes (chargen): the
   * transport calls it whenever the socket can take more, so a slow reader costs no memory.
   */
  pull?(): Uint8Array;
}

/** ClientRole says what the protocol's client does, so one client adapter serves every protocol. */
export interface ClientRole {
  /** speaksFirst: the server talks unasked; the client sends nothing (an empty datagram over UDP). */
  readonly speaksFirst: boolean;
  /** replies: false when the server never answers (discard): the client only sends. */
  readonly replies: boolean;
  /** endless: over TCP the server talks until the client leaves (chargen); the client must not half-close. */
  readonly endless?: boolean;
  /** verify says what is wrong with `reply` as this protocol's answer to `sent`, or nothing when it is right. */
  verify(reply: Uint8Array, sent: Uint8Array): string | undefined;
  /**
   * show turns a whole reply into text for people (time: an ISO-8601 date); without it the bytes are printed as they
   * are.
   */
  show?(reply: Uint8Array): string;
}

/** Protocol is an application protocol, independent of sockets. */
export interface Protocol {
  /** name is what `--protocol` takes. */
  readonly name: string;
  /** port is the well-known port the server listens on by default. */
  readonly port: number;
  /** spec names where the protocol is defined. */
  readonly spec: string;
  /** summary says in a few words what a server does. */
  readonly summary: string;
  /**
   * datagram answers one datagram; undefined sends nothing back. The reply is the message itself
   * (echo) or bytes of its own, never a view into the message: the transport copies the message
   * itself before replies wait for a batch, and nothing else (Bun 1.4 hands each datagram over in a
   * fresh buffer, but does not promise to).
   */
  datagram(message: Uint8Array, peer: Peer): Uint8Array | undefined;
  /**
   * datagramOwned, where a protocol has it, is datagram for a caller that hands the message over (the batch UDP
   * engine's read buffer, which it sends from or copies before its next read): the reply may be the message rewritten
   * where it is, or a view of it, so a reply costs no copy and no allocation.
   */
  datagramOwned?(message: Uint8Array, peer: Peer): Uint8Array | undefined;
  /**
   * stream starts the state for one new connection. Return a class instance, or one shared object
   * when there is no state, rather than fresh closures: the transport's call into a session then
   * stays one call site for every connection (closures per connection cost about a tenth of the
   * round-trip rate at 1000 connections).
   */
  stream(peer: Peer): StreamSession;
  /** client is how this protocol's client behaves. */
  readonly client: ClientRole;
}
