// Streams UTF-8 text (Korean and German) through one TCP connection to an uppercase server and prints MB/s of input.
// bun scripts/bench/utf8-stream.ts PORT MBYTES  ->  "rate=<MB/s> errors=<n>" (loadgen's format)
import { upcase } from "../../src/protocol/utf8-upper.ts";

const port = Number(process.argv[2]);
const mbytes = Number(process.argv[3] ?? 64);
const encoder = new TextEncoder();
// Whole lines, so a chunk of them uppercases to the same bytes however the server splits them.
const line = "Grüße aus Köln, die Straße entlang: 안녕하세요 세계, 한국어 텍스트와 ß und ä ö ü.\n";
let text = "";
while (encoder.encode(text).length < 64 * 1024) text += line;
const chunk = encoder.encode(text);
const expectChunk = upcase(chunk);
const rounds = Math.max(1, Math.round((mbytes << 20) / chunk.length));
const total = rounds * chunk.length;
const want = rounds * expectChunk.length;

let got = 0;
let errors = 0;
let sent = 0;
let pending: Uint8Array | undefined;
const t0 = performance.now();
const done = Promise.withResolvers<void>();
const timer = setTimeout(() => {
  errors++;
  done.resolve();
}, 60_000);
function pump(sock: Bun.Socket<undefined>): void {
  while (sent < rounds || pending) {
    const piece = pending ?? chunk;
    const n = sock.write(piece);
    if (n < piece.length) {
      pending = piece.subarray(Math.max(n, 0));
      return;
    }
    pending = undefined;
    sent++;
    if (sent >= rounds) break;
  }
  if (sent >= rounds && !pending) sock.shutdown();
}
// Spot-check: the first reply bytes must be the uppercased text.
let head = new Uint8Array(0);
await Bun.connect({
  hostname: "127.0.0.1",
  port,
  socket: {
    open(sock) {
      pump(sock);
    },
    drain(sock) {
      if (!(sent >= rounds && !pending)) {
        if (pending || sent < rounds) pump(sock);
      }
    },
    data(_sock, bytes) {
      if (head.length < 4096) {
        const next = new Uint8Array(head.length + bytes.length);
        next.set(head);
        next.set(bytes, head.length);
        head = next;
      }
      got += bytes.length;
    },
    close() {
      done.resolve();
    },
    end(sock) {
      sock.end();
      done.resolve();
    },
    error() {
      errors++;
      done.resolve();
    },
  },
});
await done.promise;
clearTimeout(timer);
const seconds = (performance.now() - t0) / 1000;
const n = Math.min(head.length, 4096);
for (let i = 0; i < n; i++)
  if (head[i] !== expectChunk[i % expectChunk.length]) {
    errors++;
    break;
  }
if (got !== want) errors++;
console.log(`rate=${(total / 1048576 / seconds).toFixed(1)} errors=${errors} bytes_in=${got} bytes_want=${want}`);
process.exit(0);
