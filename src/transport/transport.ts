// The two transports every protocol runs on, and the one limit that belongs to the datagram itself.

export type Transport = "tcp" | "udp";

/** MAX_DATAGRAM is the largest UDP payload over IPv4 (65535 less the IP and UDP headers). */
export const MAX_DATAGRAM = 65507;
