// A UDP server's answer to one datagram, the same for both engines (Bun's socket, and the batch engine's reads): the
// gate asked the same questions in the same order, so the bounds cannot drift apart between them.
import type { Protocol } from "../protocol/protocol.ts";
import type { Gate } from "./gate.ts";
import type { Counters } from "./listener.ts";
import { loopbackFlow, sourcePrefix } from "./prefix.ts";

/**
 * answerDatagram counts a datagram, asks the gate whether its source may be answered (--allow, reflection), has the
 * protocol answer it, and asks whether that reply may go (--udp-reply-rate, --udp-rate, --udp-excess): the reply, or
 * undefined for none. address is the source as the socket gives it (IPv4-mapped on a dual-stack socket), peer its
 * plain form.
 */
export function answerDatagram(
  gate: Gate,
  protocol: Protocol,
  counters: Counters,
  message: Uint8Array,
  address: string,
  peer: string,
  port: number,
): Uint8Array | undefined {
  counters.datagramsIn++;
  counters.bytesIn += message.length;
  if (!gate.answers(peer, port)) return undefined;
  const reply = protocol.datagram(message, { transport: "udp", address: peer, port });
  if (reply === undefined) return undefined;
  if (!gate.mayReply(sourcePrefix(address), reply.length, message.length, loopbackFlow(address, port)))
    return undefined;
  return reply;
}
