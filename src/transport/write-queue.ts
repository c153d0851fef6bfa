// The one write path for stream sockets: Bun's write() takes what the kernel has room for and returns
// the count, and the rest must wait for the socket's drain. Servers and clients both write through it.
import type { Socket } from "bun";

/** Writable is what a write needs of a socket: Bun's write, which returns the bytes taken or -1 once closed. */
type Writable = Pick<Socket<unknown>, "write">;

/** WriteQueue holds, oldest first, the bytes of one socket that the kernel has not taken yet. */
export class WriteQueue {
  private chunks: Uint8Array[] = [];
  /** queued is how many bytes wait. */
  queued = 0;

  /**
   * write hands bytes to the socket behind what already waits, keeping what the kernel does not take
   * now. It returns the bytes taken at once, or -1 when the socket takes no more writes.
   */
  write(sock: Writable, bytes: Uint8Array): number {
    if (this.queued > 0) {
      this.keep(bytes);
      return 0;
    }
    const taken = sock.write(bytes);
    if (taken < 0) return -1;
    if (taken < bytes.length) this.keep(bytes.subarray(taken));
    return taken;
  }

  /** flush, on the socket's drain, hands waiting bytes over; it returns the bytes taken, or -1 once closed. */
  flush(sock: Writable): number {
    let taken = 0;
    while (this.chunks.length > 0) {
      const head = this.chunks[0]!;
      const n = sock.write(head);
      if (n < 0) {
        this.clear();
        return -1;
      }
      taken += n;
      this.queued -= n;
      if (n < head.length) {
        this.chunks[0] = head.subarray(n);
        break;
      }
      this.chunks.shift();
    }
    return taken;
  }

  /** clear drops what waits: the socket is gone. */
  clear(): void {
    this.chunks = [];
    this.queued = 0;
  }

  private keep(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.queued += bytes.length;
  }
}
