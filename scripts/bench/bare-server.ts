// The least a Bun server can do for the bench's scenarios: ASCII uppercase over UDP (replies batched with
// sendMany, as upcat does) and TCP, with no limits, counters or UTF-8. Beside upcat in the same run, it
// tells how much of the distance to cref is the runtime's and how much is upcat's own.
// bun scripts/bench/bare-server.ts PORT
export {};
const port = Number(process.argv[2]);

function upper(m: Uint8Array): Uint8Array {
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

await Bun.listen({
  hostname: "127.0.0.1",
  port,
  allowHalfOpen: true,
  socket: {
    // The bench's clients read what they sent: under load a partial write would only be dropped here.
    data(sock, m) {
      sock.write(upper(m));
    },
    end(sock) {
      sock.end();
    },
    error() {},
  },
});
