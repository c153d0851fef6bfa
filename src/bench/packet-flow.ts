// A connected UDP socket for the load generator: requests go out in batches (sendMany) and replies come to
// a callback, without a promise or a timer a datagram; send times wait in order for their replies.
import { NetError } from "../errors.ts";
import { hostPort } from "../transport/address.ts";
import { anyAddressFor, connectedUdpHandler, type UdpSocket } from "../transport/bun-socket.ts";
import { clientUdpSocket } from "../transport/client-port.ts";
import { SendTimes } from "./send-times.ts";

/** PacketFlowHandlers take what comes back: a reply with its send time, or the kernel's error for the peer. */
export interface PacketFlowHandlers {
  reply(flow: PacketFlow, sentAt: number, bytes: number): void;
  /**
   * failed: ECONNREFUSED (an ICMP port unreachable) or a send the kernel refused; the flow is closed,
   * and the `lost` requests it had in flight will get no reply.
   */
  failed(flow: PacketFlow, err: NetError, lost: number): void;
  /** drained: the kernel takes datagrams again after a batch it took only part of. */
  drained(): void;
}

/** PacketFlow keeps up to `window` requests in flight on one socket (one source port). */
export class PacketFlow {
  /** times are the send times of the requests in flight; due is how many are to go out at the next flush. */
  readonly times: SendTimes;
  due = 0;
  closed = false;
  private socket?: UdpSocket;

  private constructor(
    readonly window: number,
    readonly where: string,
    private readonly on: PacketFlowHandlers,
  ) {
    this.times = new SendTimes(window);
  }

  /** inFlight is how many requests wait for replies. */
  get inFlight(): number {
    return this.times.count;
  }

  /** dial opens the socket, connected to an IP literal and port. */
  static async dial(address: string, port: number, window: number, on: PacketFlowHandlers): Promise<PacketFlow> {
    const flow = new PacketFlow(window, hostPort(address, port), on);
    const handlers = connectedUdpHandler({
      data(_sock: unknown, bytes: Uint8Array) {
        if (flow.inFlight === 0) return; // a late reply to a request already counted lost
        on.reply(flow, flow.times.shift(), bytes.length);
      },
      drain() {
        on.drained();
      },
      error(err: unknown) {
        flow.fail(NetError.from("read", "udp", flow.where, err));
      },
    });
    try {
      flow.socket = await clientUdpSocket(() =>
        Promise.try(() =>
          Bun.udpSocket({
            hostname: anyAddressFor(address),
            port: 0,
            connect: { hostname: address, port },
            socket: handlers,
          }),
        ),
      );
    } catch (err) {
      throw NetError.from("connect", "udp", flow.where, err);
    }
    return flow;
  }

  /**
   * flush sends the due requests in one batch stamped `now`, and returns how many went; the rest stay
   * due until the socket drains. A send the kernel refuses fails the flow.
   */
  flush(batchOf: (n: number) => readonly Uint8Array[], now: number): number {
    if (this.closed || this.due === 0) return 0;
    let sent: number;
    try {
      sent = this.socket!.sendMany(batchOf(this.due));
    } catch (err) {
      this.fail(NetError.from("write", "udp", this.where, err));
      return 0;
    }
    this.times.push(sent, now);
    this.due -= sent;
    return sent;
  }

  close(): void {
    this.closed = true;
    this.due = 0;
    this.socket?.close();
  }

  private fail(err: NetError): void {
    if (this.closed) return;
    this.close();
    this.on.failed(this, err, this.times.clear());
  }
}
