// A UDP client's source port that upcat's own servers answer. Servers refuse datagrams from the service ports
// (reflection.ts), and Linux's ephemeral range (32768-60999) holds one of them, Jenkins' 33848: about one socket in
// 28 000 that the kernel binds for a client would get no reply from `upcat serve` or `upcat relay`, through every
// retry. A CI run once failed that way: one of a relay's 48 sessions, and every try of one line.
import { isServicePort } from "./reflection.ts";

/** TRIES bounds the binds: the kernel gives another port while the refused one stays open. */
const TRIES = 4;

interface Closable {
  close(): void;
}

/**
 * clientSocket opens a socket with `open` until its source port (`portOf`) is not a service port; the refused ones
 * are held open until then, so that the kernel does not give the same port back, and closed after.
 */
export function clientSocket<S>(open: () => S, portOf: (s: S) => number, close: (s: S) => void): S {
  const refused: S[] = [];
  try {
    for (;;) {
      const s = open();
      if (refused.length >= TRIES || !isServicePort(portOf(s))) return s;
      refused.push(s);
    }
  } finally {
    for (const s of refused) close(s);
  }
}

/** clientUdpSocket is clientSocket for Bun's sockets, which are opened with a promise and say their port. */
export async function clientUdpSocket<S extends Closable & { readonly port: number }>(open: () => Promise<S>) {
  const refused: S[] = [];
  try {
    for (;;) {
      const s = await open();
      if (refused.length >= TRIES || !isServicePort(s.port)) return s;
      refused.push(s);
    }
  } finally {
    for (const s of refused) s.close();
  }
}
