// Bun's socket.write takes what the kernel accepts now and returns the count; the caller keeps the rest
// for the drain event. One loop, shared by the TCP client and the check probe.
import type { Socket } from "bun";

/** writePending writes as much of bytes as the socket takes now and returns what is left. */
export function writePending(sock: Socket<any>, bytes: Uint8Array): Uint8Array {
  let rest = bytes;
  while (rest.length > 0) {
    const written = sock.write(rest);
    if (written <= 0) break;
    rest = rest.subarray(written);
  }
  return rest;
}
