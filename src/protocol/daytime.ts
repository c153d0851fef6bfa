// RFC 867, the Daytime Protocol: the date and time as text, in ctime's form as inetd sends it.
import type { Protocol } from "./protocol.ts";

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const two = (n: number) => String(n).padStart(2, "0");

/** daytimeText is ctime(3)'s 24 characters and a CRLF, in local time: "Tue Nov 24 06:40:00 2026\r\n". */
export function daytimeText(d: Date): string {
  return (
    `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2)} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}\r\n`
  );
}

const now = () => new TextEncoder().encode(daytimeText(new Date()));

export const daytime: Protocol = {
  name: "daytime",
  port: 13,
  spec: "RFC 867",
  summary: "answers with the date and time as text, then closes",
  datagram: () => now(),
  stream: () => ({ greet: now, closeAfterGreeting: true }),
  client: {
    speaksFirst: true,
    replies: true,
    verify(reply) {
      if (reply.length === 0) return "no date came";
      return reply.every((b) => (b >= 0x20 && b < 0x7f) || b === 13 || b === 10) ? undefined : "the reply is not text";
    },
  },
};
