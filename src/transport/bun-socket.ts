// What bun-types does not say of Bun 1.4's sockets, in one place: the casts a socket call needs, and which
// wildcard address a socket binds.

/** UdpSocket is what Bun.udpSocket resolves to with binary data. */
export type UdpSocket = Awaited<ReturnType<typeof Bun.udpSocket<"buffer">>>;

/** ALL_INTERFACES binds both IPv6 and IPv4 (Linux sockets are dual-stack unless told otherwise). */
export const ALL_INTERFACES = "::";
/** IPV4_ANY is every IPv4 interface (the textbook's ''): the bind where IPv6 is missing, or for an IPv4 peer. */
export const IPV4_ANY = "0.0.0.0";

/**
 * anyAddressFor is the local address a socket that talks to peer (an IP literal) binds: one of peer's family,
 * since a socket bound on 0.0.0.0 cannot send to ::1.
 */
export function anyAddressFor(peer: string): string {
  return peer.includes(":") ? ALL_INTERFACES : IPV4_ANY;
}

/** ConnectedUdpRoutes are a connected UDP socket's events as Bun 1.4 delivers them. */
export interface ConnectedUdpRoutes {
  data(socket: unknown, bytes: Uint8Array): void;
  drain?(): void;
  /** error gets the error alone, with the socket as `this`. */
  error(err: unknown): void;
}

/**
 * connectedUdpHandler gives routes the type Bun.udpSocket asks for. bun-types declares error(socket, err),
 * but Bun 1.4 calls error(err) with the socket as `this`, so the types cannot meet without a cast.
 */
export function connectedUdpHandler(routes: ConnectedUdpRoutes): Bun.udp.ConnectedSocketHandler<"buffer"> {
  return routes as unknown as Bun.udp.ConnectedSocketHandler<"buffer">;
}
