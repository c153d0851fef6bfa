// A dialled datagram socket, as Go's connected net.PacketConn: send to one peer, receive its replies
// with a deadline. Every UDP client (send, check, bench) is built on it.
import { NetError } from "../errors.ts";
import { hostPort } from "./address.ts";
import { anyAddressFor, connectedUdpHandler, type UdpSocket } from "./bun-socket.ts";
import { clientUdpSocket } from "./client-port.ts";
import { type TimeLimit, timeLimit } from "./time-limit.ts";

/** MAX_WAITING bounds the replies kept while nobody is receiving: late duplicates must not pile up. */
const MAX_WAITING = 64;

/** PacketConn is a UDP socket connected to one address and port. */
export class PacketConn {
  private readonly where: string;
  private readonly inbox: Uint8Array[] = [];
  private receiver?: {
    resolve(bytes: Uint8Array | null): void;
    reject(err: unknown): void;
    timer: TimeLimit;
  };
  private failure?: NetError;
  private socket?: UdpSocket;

  constructor(
    readonly address: string,
    readonly port: number,
  ) {
    this.where = hostPort(address, port);
  }

  /** send puts one datagram on the wire; it throws a NetError when the kernel refuses it. */
  send(bytes: Uint8Array): void {
    try {
      this.socket!.send(bytes);
    } catch (err) {
      throw NetError.from("write", "udp", this.where, err);
    }
  }

  /**
   * receive resolves with the next datagram, or null when none came within timeoutMs. It rejects when
   * the kernel reported an error for this peer (ECONNREFUSED: an ICMP port unreachable came back).
   */
  receive(timeoutMs: number): Promise<Uint8Array | null> {
    const waiting = this.inbox.shift();
    if (waiting) return Promise.resolve(waiting);
    if (this.failure) {
      const err = this.failure;
      this.failure = undefined;
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      const timer = timeLimit(() => {
        this.receiver = undefined;
        resolve(null);
      }, timeoutMs);
      this.receiver = { resolve, reject, timer };
    });
  }

  /** dropWaiting forgets the datagrams that came while nobody was receiving: replies that came more than once. */
  dropWaiting(): void {
    this.inbox.length = 0;
  }

  close(): void {
    if (this.receiver) this.receiver.timer.clear();
    this.socket?.close();
  }

  /** attach is dialPacket's: the socket this conn sends from. */
  attach(socket: UdpSocket): void {
    this.socket = socket;
  }

  /** received and failed are the socket's events, routed here by dialPacket. */
  received(bytes: Uint8Array): void {
    const r = this.receiver;
    if (r) {
      this.receiver = undefined;
      r.timer.clear();
      r.resolve(bytes);
    } else if (this.inbox.length < MAX_WAITING) {
      this.inbox.push(bytes);
    }
  }

  failed(err: unknown): void {
    const e = NetError.from("read", "udp", this.where, err);
    const r = this.receiver;
    if (!r) return void (this.failure = e);
    this.receiver = undefined;
    r.timer.clear();
    r.reject(e);
  }
}

/** handlers routes the socket's events to the conn. */
function handlers(conn: PacketConn): Bun.udp.ConnectedSocketHandler<"buffer"> {
  return connectedUdpHandler({
    data(_sock: unknown, bytes: Uint8Array) {
      conn.received(bytes);
    },
    error(err: unknown) {
      conn.failed(err);
    },
  });
}

/** dialPacket opens a UDP socket connected to one address (an IP literal) and port. */
export async function dialPacket(address: string, port: number): Promise<PacketConn> {
  const conn = new PacketConn(address, port);
  try {
    // A connect that fails at once (ENETUNREACH) throws rather than rejecting.
    const socket = await clientUdpSocket(() =>
      Promise.try(() =>
        Bun.udpSocket({
          hostname: anyAddressFor(address),
          port: 0,
          connect: { hostname: address, port },
          socket: handlers(conn),
        }),
      ),
    );
    conn.attach(socket);
    return conn;
  } catch (err) {
    throw NetError.from("connect", "udp", hostPort(address, port), err);
  }
}
