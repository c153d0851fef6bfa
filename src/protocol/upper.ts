// The seed's private protocol: every message comes back in uppercase (Kurose & Ross, section 2.7).
import type { Protocol, StreamSession } from "./protocol.ts";
import { sameBytes } from "./same-bytes.ts";
import { upcase, upcaseInPlace, Upcaser } from "./utf8-upper.ts";

/** UpperSession uppercases one connection's bytes, holding back a character split between reads. */
class UpperSession implements StreamSession {
  private readonly upcaser = new Upcaser();
  data(chunk: Uint8Array): Uint8Array {
    return this.upcaser.pushOwned(chunk);
  }
  end(): Uint8Array {
    return this.upcaser.end();
  }
}

/** upper answers each datagram, and each byte of a stream as it arrives, in uppercase. */
export const upper: Protocol = {
  name: "upper",
  port: 12000,
  spec: "Kurose & Ross 2.7",
  summary: "sends every message back in uppercase",
  datagram: (message) => upcase(message),
  datagramOwned: (message) => upcaseInPlace(message),
  stream: () => new UpperSession(),
  client: {
    speaksFirst: false,
    replies: true,
    verify: (reply, sent) => (sameBytes(reply, upcase(sent)) ? undefined : "the reply is not the message in uppercase"),
  },
};
