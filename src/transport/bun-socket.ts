// What bun-types does not say of Bun 1.4's sockets, in one place: the casts and options a socket call needs (the
// connected-UDP handler, reusePort on TCP and UDP listeners), and which wildcard address a socket binds.

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

/**
 * ipv4Fallback is where a bind of `host` that failed with errno `code` goes again: on a machine without IPv6, binding
 * ALL_INTERFACES fails (EAFNOSUPPORT, EADDRNOTAVAIL) and IPV4_ANY serves instead. undefined: no second try.
 */
export function ipv4Fallback(host: string, code: string | undefined): string | undefined {
  return host === ALL_INTERFACES && (code === "EAFNOSUPPORT" || code === "EADDRNOTAVAIL") ? IPV4_ANY : undefined;
}

/** TcpListenOptions are Bun.listen's, with the reusePort it takes on Linux (bun-types declares it for connect only). */
export type TcpListenOptions<Data> = Bun.TCPSocketListenOptions<Data> & { reusePort?: boolean };

/** listenTcp is Bun.listen with reusePort typed: several processes may then bind one port (SO_REUSEPORT). */
export function listenTcp<Data>(options: TcpListenOptions<Data>): Bun.TCPSocketListener<Data> {
  return Bun.listen<Data>(options);
}

/** UdpServerSocket is what a bound (unconnected) Bun.udpSocket resolves to with binary data. */
export type UdpServerSocket = Bun.udp.Socket<"buffer">;

/** UdpListenOptions are Bun.udpSocket's for a server, with reusePort, which Bun.udpSocket itself ignores. */
export interface UdpListenOptions {
  hostname: string;
  port: number;
  reusePort?: boolean;
  socket: Bun.udp.SocketHandler<"buffer">;
}

/** Bun's UDP bind flags (undocumented; bun-types lacks them): REUSE_PORT, and fail rather than skip it without. */
const REUSE_PORT = 4;
const DISALLOW_REUSE_PORT_FAILURE = 32;

/**
 * listenUdp binds a UDP server socket. Bun.udpSocket ignores `reusePort` but takes these flags, so that several
 * processes share the port; the kernel then keeps each source address and port on one socket.
 */
export function listenUdp(options: UdpListenOptions): Promise<UdpServerSocket> {
  const { reusePort, ...rest } = options;
  const withFlags: Bun.udp.SocketOptions<"buffer"> & { flags?: number } = reusePort
    ? { ...rest, flags: REUSE_PORT | DISALLOW_REUSE_PORT_FAILURE }
    : rest;
  return Bun.udpSocket(withFlags);
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
