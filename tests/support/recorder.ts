// A peer on 127.0.0.1 that keeps every payload reaching it over TCP and UDP on one port and echoes it back: what a
// test holds against what the user typed.
export interface Payload {
  /** label is what the test was doing when the payload began (its `label` then). */
  label: readonly string[];
  /** chunks are a TCP connection's bytes so far, or one datagram. */
  chunks: Uint8Array[];
}

export interface Recorder {
  port: number;
  /** label tags the payloads that begin from now on. */
  label: readonly string[];
  /** payloads are every connection and every datagram, in the order they began. */
  readonly payloads: Payload[];
  /** received is every byte that reached the peer, as text. */
  received(): string;
  stop(): void;
}

/** textOf is a payload's bytes as text. */
export function textOf(p: Payload): string {
  return Buffer.concat(p.chunks).toString();
}

/**
 * startRecorder listens on a free TCP port of 127.0.0.1 and the same UDP port: a TCP port the kernel picked may be
 * taken for UDP (a client's socket), so it tries again with another then (CI once failed on EADDRINUSE).
 */
export async function startRecorder(): Promise<Recorder> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await recorderOnce();
    } catch (err) {
      if ((err as { code?: string }).code !== "EADDRINUSE" || attempt >= 20) throw err;
    }
  }
}

async function recorderOnce(): Promise<Recorder> {
  const payloads: Payload[] = [];
  const open = new Map<object, Payload>();
  const recorder: Recorder = {
    port: 0,
    label: [],
    payloads,
    received: () => payloads.map(textOf).join(""),
    stop() {
      tcp.stop(true);
      udp.close();
    },
  };
  const tcp = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        const p: Payload = { label: recorder.label, chunks: [] };
        payloads.push(p);
        open.set(socket, p);
      },
      data(socket, data) {
        open.get(socket)?.chunks.push(new Uint8Array(data));
        socket.write(data);
      },
      end(socket) {
        open.delete(socket);
        socket.end();
      },
      close(socket) {
        open.delete(socket);
      },
    },
  });
  const udp = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: tcp.port,
    socket: {
      data(socket, data, port, address) {
        payloads.push({ label: recorder.label, chunks: [new Uint8Array(data)] });
        socket.send(data, port, address);
      },
    },
  }).catch((err) => {
    tcp.stop(true);
    throw err;
  });
  recorder.port = tcp.port;
  return recorder;
}
