// RFC 862, the Echo Protocol: whatever arrives goes back unchanged.
import type { Protocol } from "./protocol.ts";
import { sameBytes } from "./same-bytes.ts";

export const echo: Protocol = {
  name: "echo",
  port: 7,
  spec: "RFC 862",
  summary: "sends every message back unchanged",
  datagram: (message) => message,
  // Bun hands each read over in a fresh buffer, so the chunk itself can wait in the write queue.
  stream: () => ({ data: (chunk) => chunk }),
  client: {
    speaksFirst: false,
    replies: true,
    verify: (reply, sent) => (sameBytes(reply, sent) ? undefined : "the reply is not the message echoed"),
  },
};
