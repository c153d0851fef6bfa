// The UDP load of `upcat bench` on Linux, through libc: sendmmsg and recvmmsg move a batch of datagrams a call, as
// loadgen does, where Bun calls JS once a datagram (one process then tops out well below what a fast server can
// answer, and the bench would measure itself). The loop runs in slices, yielding to the event loop between them, so
// progress lines, a worker's IPC and signals keep working.
import { NetError } from "../errors.ts";
import { hostPort } from "../transport/address.ts";
import type { Clock, LoadTally } from "./tally.ts";
import { SendTimes } from "./send-times.ts";
import { bunFfi, EAGAIN, errnoName, errnoOf, libcOnce, MSG_DONTWAIT, newSockaddr, POLLIN } from "../transport/libc.ts";
import { clientUdpFd } from "../transport/client-port.ts";
import { MessageVector, MSG_TRUNC } from "../transport/mmsg.ts";

/** RECV_BATCH is how many replies one recvmmsg may take; RECV_SLOT the bytes kept of each (the length is counted). */
const RECV_BATCH = 64;
const RECV_SLOT = 2048;
/** SLICE_MS is the longest the loop runs before it lets the event loop have a turn. */
const SLICE_MS = 10;

/** datagramLibc is libc's batch calls on 64-bit Linux, or null where they are not to be had (the Bun path then). */
export const datagramLibc = libcOnce((t) => ({
  sendmmsg: { args: [t.i32, t.ptr, t.u32, t.i32], returns: t.i32 },
  recvmmsg: { args: [t.i32, t.ptr, t.u32, t.i32, t.ptr], returns: t.i32 },
  poll: { args: [t.ptr, t.u64, t.i32], returns: t.i32 },
  getsockname: { args: [t.i32, t.ptr, t.ptr], returns: t.i32 },
}));
type Libc = NonNullable<ReturnType<typeof datagramLibc>>;

/** Flow is one connected socket (one source port), the send times of its requests in flight, and those due. */
interface Flow {
  fd: number;
  times: SendTimes;
  due: number;
  closed: boolean;
}

/**
 * udpLoadLibc keeps `windows` (one a socket) of datagrams in flight to address:port and tallies what comes back, the
 * same load as the Bun path (bench/load.ts udpLoad): a reply frees a place in its socket's window, loopback keeps
 * the order so a reply is the oldest request's, and a request unanswered for timeoutMs is lost and sent anew. It
 * returns the first failure (a refused port), or undefined. clock.begin() is awaited once the sockets are open.
 */
export async function udpLoadLibc(
  c: Libc,
  address: string,
  port: number,
  load: { windows: readonly number[]; payload: Uint8Array; timeoutMs: number; sweepMs: number },
  tally: LoadTally,
  clock: Clock,
): Promise<unknown> {
  const where = hostPort(address, port);
  const addr = newSockaddr(address, port);
  if (!addr) throw new Error(`not an IP address: ${address}`);
  const errno = () => errnoOf(c);
  const failure = (op: "connect" | "read" | "write", code: number) =>
    NetError.from(op, "udp", where, Object.assign(new Error(`errno ${code}`), { code: errnoName(code) }));
  const flows: Flow[] = [];
  const closeAll = () => {
    for (const f of flows) if (!f.closed) c.close(f.fd);
  };
  for (const window of load.windows) {
    let fd: number;
    try {
      fd = clientUdpFd(c, addr, (code) => failure("connect", code));
    } catch (err) {
      closeAll();
      tally.errors++;
      return err;
    }
    flows.push({ fd, times: new SendTimes(window), due: window, closed: false });
  }
  const payload = new Uint8Array(new ArrayBuffer(Math.max(1, load.payload.length))).subarray(0, load.payload.length);
  payload.set(load.payload);
  const sends = new MessageVector(Math.max(...load.windows), { shared: payload });
  const replies = new MessageVector(RECV_BATCH, { slot: RECV_SLOT });
  const pollfds = new Int32Array(new ArrayBuffer(8 * flows.length));
  const pollPtr = bunFfi().ptr(pollfds);
  let failed: unknown;
  const fail = (f: Flow, err: NetError) => {
    failed ??= err;
    tally.errors += f.times.clear();
    f.due = 0;
    f.closed = true;
    c.close(f.fd);
    pollfds[flows.indexOf(f) * 2] = -1;
  };

  flows.forEach((f, k) => {
    pollfds[k * 2] = f.fd;
    pollfds[k * 2 + 1] = POLLIN;
  });
  try {
    await clock.begin();
    let sending = true;
    let nextSweep = performance.now() + load.sweepMs;
    for (;;) {
      const sliceEnd = performance.now() + SLICE_MS;
      for (;;) {
        let now = performance.now();
        if (now >= clock.stopAt) sending = false;
        if (now >= nextSweep) {
          nextSweep = now + load.sweepMs;
          for (const f of flows) {
            const lost = f.times.expire(now - load.timeoutMs);
            tally.errors += lost;
            if (sending) f.due += lost;
          }
        }
        for (const f of flows) {
          if (!sending) f.due = 0;
          if (f.closed || f.due === 0) continue;
          const sent = c.sendmmsg(f.fd, sends.ptr, f.due, 0);
          if (sent < 0) {
            const code = errno();
            if (code !== EAGAIN) fail(f, failure("write", code));
            continue;
          }
          f.times.push(sent, now);
          f.due -= sent;
          tally.requests += sent;
        }
        let busy = false;
        for (const f of flows) if (!f.closed && (sending || f.times.count > 0)) busy = true;
        if (!busy) return failed;
        if (now >= sliceEnd) break;
        // Wait in the kernel for replies (a millisecond at most, for the sweep and the clock), then read the
        // sockets that have some: a refusal (an ICMP error) wakes it too, and the read returns it.
        if (c.poll(pollPtr, flows.length, 1) <= 0) continue;
        now = performance.now();
        for (let k = 0; k < flows.length; k++) {
          const f = flows[k]!;
          if (f.closed || pollfds[k * 2 + 1]! >>> 16 === 0) continue;
          const n = c.recvmmsg(f.fd, replies.ptr, RECV_BATCH, MSG_DONTWAIT | MSG_TRUNC, null);
          if (n < 0) {
            const code = errno();
            if (code !== EAGAIN) fail(f, failure("read", code));
            continue;
          }
          for (let i = 0; i < n; i++) {
            // A late reply to a request already counted lost has no place left to free.
            if (f.times.count === 0) break;
            tally.reply(now - f.times.shift(), replies.length(i));
            if (sending) f.due++;
          }
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    closeAll();
    // The last use of the vectors and the poll list: until here none of their memory can be collected.
    sends.release();
    replies.release();
    pollfds.fill(0);
  }
}
