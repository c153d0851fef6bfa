// A UDP server's answer to one datagram, the same for both engines (Bun's socket, and the batch engine's reads): the
// gate asked the same questions in the same order, so the bounds cannot drift apart between them.
import type { Protocol } from "../protocol/protocol.ts";
import type { Gate } from "./gate.ts";
import type { Counters } from "./listener.ts";
import { flowKey, type SourceKeys } from "./prefix.ts";

/**
 * answerDatagram counts a datagram, asks the gate whether its source may be answered (--allow, reflection), has the
 * protocol answer it, and asks whether that reply may go (--udp-reply-rate, --udp-rate, --udp-excess): the reply, or
 * undefined for none. `from` is the source's keys (sourceKeys), `port` its port. `owned`: the caller hands the message
 * over (the batch engine), and a protocol that can answers it in place (Protocol.datagramOwned).
 */
export function answerDatagram(
  gate: Gate,
  protocol: Protocol,
  counters: Counters,
  message: Uint8Array,
  from: SourceKeys,
  port: number,
  owned = false,
): Uint8Array | undefined {
  counters.datagramsIn++;
  counters.bytesIn += message.length;
  if (!gate.answers(from.plain, port, from.unanswerable)) return undefined;
  const peer = { transport: "udp", address: from.plain, port } as const;
  const reply =
    owned && protocol.datagramOwned ? protocol.datagramOwned(message, peer) : protocol.datagram(message, peer);
  if (reply === undefined) return undefined;
  if (!gate.mayReply(from.prefix, reply.length, message.length, flowKey(from.loopback, port))) return undefined;
  return reply;
}
