// RFC 863, the Discard Protocol: whatever arrives is thrown away, and nothing is ever sent back.
import type { Protocol } from "./protocol.ts";

export const discard: Protocol = {
  name: "discard",
  port: 9,
  spec: "RFC 863",
  summary: "reads everything and answers nothing",
  datagram: () => undefined,
  stream: () => ({}),
  client: {
    speaksFirst: false,
    replies: false,
    verify: (reply) => (reply.length === 0 ? undefined : `a discard server sent ${reply.length} bytes back`),
  },
};
