// The datagram adapter, server side: any Protocol's datagram side as a UDP server.
import type { Protocol } from "../protocol/protocol.ts";
import { listenUdp } from "./bun-socket.ts";
import { Gate, newBudgets } from "./gate.ts";
import {
  bindOrExplain,
  DEFAULT_LIMITS,
  newCounters,
  type Counters,
  type Listener,
  type ListenOptions,
} from "./listener.ts";
import { markServed, unmarkServed } from "./reflection.ts";
import { sourceKeys, type SourceKeys } from "./prefix.ts";
import { answerDatagram } from "./udp-answer.ts";
import { batchEngine } from "./udp-batch/engine.ts";
import type { Drainer } from "./udp-batch/drainer.ts";

/** BATCH is how many replies a server sends in one sendMany at most. */
const BATCH = 64;

/** Packet is a reply as sendMany takes it: data, port, address, data, port, address, ... */
type Packets = (Uint8Array | number | string)[];

interface DatagramSocket {
  sendMany(packets: readonly (Uint8Array | number | string)[]): number;
  send(data: Uint8Array, port: number, address: string): boolean;
}

/**
 * serveUdp answers each datagram with what the protocol returns, sent back to its source, unless the
 * source is not allowed, is a reflection or loop attempt, or its prefix (on loopback, its address and port; or the
 * server, for replies larger than their requests) has had its share of replies for now.
 */
export async function serveUdp(protocol: Protocol, opts: ListenOptions): Promise<Listener> {
  const counters = newCounters();
  const budgets = opts.budgets ?? newBudgets({ ...opts, limits: { ...DEFAULT_LIMITS, ...opts.limits } });
  const gate = new Gate(budgets, "udp", counters);
  let outbox: Packets = [];
  const flush = (sock: DatagramSocket) => {
    const batch = outbox;
    if (batch.length === 0) return;
    outbox = [];
    sendAll(sock, batch, counters);
  };
  let drainer: Drainer | undefined;
  /**
   * attach puts the batch engine on the socket at the first datagram, not at the bind: its libc calls (bun:ffi) and
   * the search for the socket's descriptor cost an idle server about 4 MB of memory (measured, compiled binary).
   */
  let attach: (() => void) | undefined;
  const socket = await bindOrExplain("udp", opts, (hostname) =>
    listenUdp({
      hostname,
      port: opts.port,
      reusePort: opts.reusePort,
      socket: {
        data(sock, message, port, address) {
          if (attach) {
            attach();
            attach = undefined;
          }
          // With the batch engine, what waits behind this wake-up's datagrams is read in batches after them.
          drainer?.kick();
          const reply = answerDatagram(gate, protocol, counters, message, sourceKeys(address), port);
          if (reply === undefined) return;
          // Replies go out in batches (one sendmmsg for all the datagrams of one wake-up), not one send each.
          // A reply that is the request (echo) is copied: that memory is not ours after we return.
          // (Comparing .buffer instead would cost about a tenth of the server's rate: JSC makes an
          // ArrayBuffer object for each typed array asked for one.)
          // new Uint8Array, not slice(): on the Buffer Bun hands over, slice() is a view of the same memory.
          outbox.push(reply === message ? new Uint8Array(reply) : reply, port, address);
          if (outbox.length >= BATCH * 3) flush(sock);
          else if (outbox.length === 3) setImmediate(flush, sock);
        },
        // ICMP errors from clients that have gone arrive here; they concern one client, not the server.
        error() {},
      },
    }),
  );
  markServed(socket.port);
  let open = true;
  const close = () => {
    if (!open) return;
    open = false;
    unmarkServed(socket.port);
    drainer?.stop();
    socket.close();
  };
  const listener: Listener = {
    transport: "udp",
    host: socket.hostname,
    port: socket.port,
    counters,
    // A datagram server has nothing in progress: closing and stopping are the same.
    close,
    stop: close,
  };
  // The engine hands each message over: it copies every reply into its send vector before it reads again.
  const answer = (message: Uint8Array, from: SourceKeys, port: number) =>
    answerDatagram(gate, protocol, counters, message, from, port, true);
  attach = () => {
    if (open) drainer = batchEngine(listener, socket.port, answer, counters, () => flush(socket));
  };
  return listener;
}

/**
 * sendAll hands a batch to the kernel, and one refused datagram never costs the others. sendmmsg
 * stops at the first datagram the kernel refuses, and that is often not the datagram's own fault: an
 * ICMP port unreachable for an earlier reply (a client gone) is reported on the next send, whoever it
 * is for. So the rest of the batch goes again from there; the refused one gets one more try alone,
 * and is dropped only if it fails again. No room in the kernel drops the rest, as a lost datagram is.
 */
function sendAll(sock: DatagramSocket, batch: Packets, counters: Counters): void {
  const n = batch.length / 3;
  let i = 0;
  while (i < n) {
    let sent = 0;
    try {
      sent = sock.sendMany(i === 0 ? batch : batch.slice(i * 3));
    } catch {}
    for (let k = i; k < i + sent; k++) count(counters, batch[k * 3] as Uint8Array);
    i += sent;
    if (i >= n) return;
    const alone = sendAlone(sock, batch, i);
    if (alone === "sent") count(counters, batch[i * 3] as Uint8Array);
    else if (alone === "full") return void (counters.sendFailed += n - i);
    else counters.sendFailed++;
    i++;
  }
}

/**
 * sendAlone sends one datagram of a batch, twice at most: the first try may only have collected another peer's error.
 */
function sendAlone(sock: DatagramSocket, batch: Packets, i: number): "sent" | "failed" | "full" {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      return sock.send(batch[i * 3] as Uint8Array, batch[i * 3 + 1] as number, batch[i * 3 + 2] as string)
        ? "sent"
        : "full";
    } catch {}
  }
  return "failed";
}

function count(counters: Counters, reply: Uint8Array): void {
  counters.datagramsOut++;
  counters.bytesOut += reply.length;
}
