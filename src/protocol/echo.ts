// RFC 862, the Echo Protocol: whatever arrives goes back unchanged.
import type { Protocol, StreamSession } from "./protocol.ts";
import { sameBytes } from "./same-bytes.ts";

// Echo keeps no state, so every connection shares one session. Bun hands each read over in a fresh
// buffer, so the chunk itself can wait in the write queue.
const ECHO_SESSION: StreamSession = { data: (chunk) => chunk };

export const echo: Protocol = {
  name: "echo",
  port: 7,
  spec: "RFC 862",
  summary: "sends every message back unchanged",
  datagram: (message) => message,
  stream: () => ECHO_SESSION,
  client: {
    speaksFirst: false,
    replies: true,
    verify: (reply, sent) => (sameBytes(reply, sent) ? undefined : "the reply is not the message echoed"),
  },
};
