// The two transports every protocol runs on, and the one limit that belongs to the datagram itself.
import { UsageError } from "../errors.ts";

export type Transport = "tcp" | "udp";

/** MAX_DATAGRAM is the largest UDP payload over IPv4 (65535 less the IP and UDP headers). */
export const MAX_DATAGRAM = 65507;

/** checkDatagram refuses a message no UDP datagram can carry, before anything is sent. */
export function checkDatagram(length: number): void {
  if (length > MAX_DATAGRAM)
    throw new UsageError(
      `message is ${length} bytes; a UDP datagram carries at most ${MAX_DATAGRAM} (use --tcp for more)`,
    );
}
