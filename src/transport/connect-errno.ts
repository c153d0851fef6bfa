// Asks the kernel why a TCP connect failed: Bun reports ECONNREFUSED for every failed connect, unreachable hosts and
// networks included.
//
// Bun.connect and node:net (Bun 1.4) both say ECONNREFUSED for EHOSTUNREACH and ENETUNREACH, whether
// the kernel answered at once (an unreachable route, no route) or an ICMP error came back (REJECT
// --reject-with icmp-host-unreachable, a failed ARP). A refusal and an unreachable network send an
// on-call engineer to different people, so after a "refused" the check dials the same address once
// more through libc, non-blocking, and reads the real errno: connect()'s own, or SO_ERROR once
// poll() says the socket is done. Where libc is not at hand (off Linux) the answer is undefined and
// the refusal stands.
import { startConnect } from "./libc.ts";

const POLL_EVERY_MS = 2;

/**
 * connectErrno dials address:port once through libc and returns the errno name the kernel gives
 * (ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ...; EMFILE when no socket could be made), "connected" if it connects
 * this time, or undefined
 * when it cannot tell within budgetMs or on this platform. It never blocks the event loop.
 */
export async function connectErrno(address: string, port: number, budgetMs: number): Promise<string | undefined> {
  const dial = startConnect(address, port);
  if (!dial) return undefined;
  try {
    const deadline = performance.now() + budgetMs;
    // Poll without waiting, between timers, so other checks keep running.
    for (;;) {
      const result = dial.result();
      if (result !== undefined) return result;
      if (performance.now() >= deadline) return undefined;
      await Bun.sleep(POLL_EVERY_MS);
    }
  } finally {
    dial.close();
  }
}
