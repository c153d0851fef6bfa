// A flood faster than a server answers: 5-byte datagrams to 127.0.0.1:PORT, 64 a sendmmsg call on one connected
// socket, for SECONDS; it prints how many went. (Python's sends, one call a datagram, fall behind the batch engine.)
// bun tests/abuse/flood-libc.ts PORT SECONDS
import { datagramLibc } from "../../src/bench/udp-libc.ts";
import { AF_INET, bunFfi, newSockaddr } from "../../src/transport/libc.ts";
import { MessageVector } from "../../src/transport/mmsg.ts";

const SOCK_DGRAM = 2;
const [port, seconds] = process.argv.slice(2).map(Number) as [number, number];
const c = datagramLibc();
if (!c) throw new Error("no libc: the flood needs 64-bit Linux");
const addr = newSockaddr("127.0.0.1", port)!;
const fd = c.socket(AF_INET, SOCK_DGRAM, 0);
if (fd < 0 || c.connect(fd, bunFfi().ptr(addr), addr.length) !== 0) throw new Error("socket or connect failed");
const batch = new MessageVector(64, { shared: new TextEncoder().encode("flood") });
const end = performance.now() + seconds * 1000;
let sent = 0;
while (performance.now() < end) {
  const n = c.sendmmsg(fd, batch.ptr, 64, 0);
  if (n > 0) sent += n;
}
console.log(sent);
