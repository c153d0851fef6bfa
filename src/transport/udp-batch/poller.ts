// Readiness for a socket Bun does not know: a small thread blocks in poll() on it and tells the main thread when
// datagrams wait, then sleeps until the main thread has drained them and asks again. Blocked, it costs no CPU; the
// gate, the protocol and the counters stay on the main thread, where the Bun path has them.
import { bunFfi, libcNames } from "../libc.ts";
import type { BatchLibc } from "./libc.ts";

/** The states of the control word the two threads share. */
const ARMED = 0;
const FIRED = 1;
const STOPPED = 2;
/** The control words: the state, and whether the poller thread is in its loop (so may hold the socket). */
const STATE = 0;
const IN_LOOP = 1;
/** STOP_WAIT_MS bounds how long close waits for the thread to leave poll(): it needs microseconds. */
const STOP_WAIT_MS = 1000;

/**
 * POLLER is the thread's program, as text: a Blob worker needs no file of its own, in the source tree or in a
 * compiled binary. It polls the socket and an eventfd (written to stop it), and hands the socket over by setting
 * FIRED (compare-and-swap, so a stop is never overwritten) and posting a message.
 */
const POLLER = `
const { dlopen, FFIType: t, ptr } = require("bun:ffi");
self.onmessage = ({ data: { libraries, fd, wake, control } }) => {
  let c;
  for (const name of libraries) {
    try {
      c = dlopen(name, { poll: { args: [t.ptr, t.u64, t.i32], returns: t.i32 } }).symbols;
      break;
    } catch {}
  }
  const words = new Int32Array(control);
  const fds = new Int32Array(new ArrayBuffer(16));
  fds[0] = fd; fds[1] = 1; fds[2] = wake; fds[3] = 1;
  const fdsPtr = ptr(fds);
  Atomics.store(words, ${IN_LOOP}, 1);
  postMessage("ready");
  for (;;) {
    Atomics.wait(words, ${STATE}, ${FIRED});
    if (Atomics.load(words, ${STATE}) === ${STOPPED}) break;
    if (c.poll(fdsPtr, 2, -1) <= 0) continue;
    if ((fds[1] >>> 16) !== 0 && Atomics.compareExchange(words, ${STATE}, ${ARMED}, ${FIRED}) === ${ARMED}) {
      postMessage("readable");
    }
  }
  Atomics.store(words, ${IN_LOOP}, 0);
  Atomics.notify(words, ${IN_LOOP});
  self.close();
};`;
let pollerUrl: string | undefined;

/** Poller tells `onReadable` each time the socket has datagrams, after each `arm`. */
export class Poller {
  private readonly worker: Worker;
  private readonly words = new Int32Array(new SharedArrayBuffer(8));
  private readonly wake: number;
  private readonly one = new BigUint64Array(new ArrayBuffer(8)).fill(1n);

  private constructor(
    private readonly c: BatchLibc,
    fd: number,
    onReadable: () => void,
    ready: () => void,
    failed: (err: unknown) => void,
  ) {
    // EFD_CLOEXEC | EFD_NONBLOCK: the thread only polls it, and a program upcat runs must not inherit it.
    this.wake = c.eventfd(0, 0o2000000 | 0o4000);
    if (this.wake < 0) throw new Error("eventfd failed");
    pollerUrl ??= URL.createObjectURL(new Blob([POLLER], { type: "application/javascript" }));
    this.worker = new Worker(pollerUrl);
    let started = false;
    this.worker.onmessage = (e: MessageEvent) => {
      if (e.data !== "ready") return onReadable();
      started = true;
      ready();
    };
    // A thread that cannot start (no bun:ffi, no libc in it) is told at once: the bind falls back to Bun's socket.
    this.worker.onerror = (e) => {
      if (started) return;
      this.c.close(this.wake);
      failed(e);
    };
    this.worker.postMessage({ libraries: libcNames(), fd, wake: this.wake, control: this.words.buffer });
  }

  /** start resolves once the thread polls (the socket is armed from the start), or rejects if it cannot start. */
  static start(c: BatchLibc, fd: number, onReadable: () => void): Promise<Poller> {
    return new Promise((resolve, reject) => {
      const poller: Poller = new Poller(c, fd, onReadable, () => resolve(poller), reject);
    });
  }

  /** arm asks the thread to watch again: the main thread has read the socket dry. */
  arm(): void {
    Atomics.store(this.words, STATE, ARMED);
    Atomics.notify(this.words, STATE);
  }

  /**
   * stop ends the thread and returns once it no longer polls the socket: a descriptor closed while another thread
   * polls it stays bound until that poll returns, and the port must be free when close returns.
   */
  stop(): void {
    Atomics.store(this.words, STATE, STOPPED);
    Atomics.notify(this.words, STATE);
    this.c.write(this.wake, bunFfi().ptr(this.one), 8);
    if (Atomics.load(this.words, IN_LOOP) === 1) Atomics.wait(this.words, IN_LOOP, 1, STOP_WAIT_MS);
    this.c.close(this.wake);
  }
}
