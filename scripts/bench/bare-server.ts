// The least a Bun server can do for the bench's scenarios: uppercase of ASCII text over UDP (replies batched with
// sendMany, as upcat does) and TCP, with no limits, counters or UTF-8. Beside upcat in the same run, it
// tells how much of the distance to cref is the runtime's and how much is upcat's own.
// bun scripts/bench/bare-server.ts PORT
export {};
const port = Number(process.argv[2]);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function upper(m: Uint8Array): Uint8Array {
  // Big reads (the stream scenario) go through the runtime's own string uppercase: what plain Bun code would do.
  if (m.length >= 256) return encoder.encode(decoder.decode(m).toUpperCase());
  const r = new Uint8Array(m.length);
  for (let i = 0; i < m.length; i++) {
    const b = m[i]!;
    r[i] = b >= 97 && b <= 122 ? b - 32 : b;
  }
  return r;
}

let outbox: (Uint8Array | number | string)[] = [];
const flush = (sock: { sendMany(p: (Uint8Array | number | string)[]): number }) => {
  const batch = outbox;
  outbox = [];
  try {
    sock.sendMany(batch);
  } catch {}
};
await Bun.udpSocket({
  hostname: "127.0.0.1",
  port,
  socket: {
    data(sock, m, p, address) {
      outbox.push(upper(m), p, address);
      if (outbox.length === 3) setImmediate(flush, sock);
    },
    error() {},
  },
});

/** Pending is what the kernel has not taken yet; bare keeps it all (no limit), and ends after it. */
interface Pending {
  queue: Uint8Array[];
  ending: boolean;
}
function flushPending(sock: Bun.Socket<Pending>): void {
  const p = sock.data;
  while (p.queue.length > 0) {
    const head = p.queue[0]!;
    const n = sock.write(head);
    if (n < head.length) {
      p.queue[0] = head.subarray(Math.max(n, 0));
      return;
    }
    p.queue.shift();
  }
  if (p.ending) sock.end();
}
await Bun.listen<Pending>({
  hostname: "127.0.0.1",
  port,
  allowHalfOpen: true,
  socket: {
    open(sock) {
      sock.data = { queue: [], ending: false };
    },
    data(sock, m) {
      sock.data.queue.push(upper(m));
      flushPending(sock);
    },
    drain: flushPending,
    end(sock) {
      sock.data.ending = true;
      flushPending(sock);
    },
    error() {},
  },
});
