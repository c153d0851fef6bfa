// The one shape every protocol takes, so that the UDP and TCP transports can carry any of them.
import type { Transport } from "../transport/target.ts";

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
  /** greet is called once when the connection opens. */
  greet?(): Uint8Array | undefined;
  /** data is called with each chunk as it arrives. */
  data(chunk: Uint8Array): Uint8Array | undefined;
  /** end is called when the peer has half-closed; what it returns is the last output. */
  end(): Uint8Array | undefined;
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
  /** datagram answers one datagram; undefined sends nothing back. */
  datagram(message: Uint8Array, peer: Peer): Uint8Array | undefined;
  /** stream starts the state for one new connection. */
  stream(peer: Peer): StreamSession;
}
