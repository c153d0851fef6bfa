// struct mmsghdr vectors for recvmmsg and sendmmsg (libc.ts), laid out as 64-bit Linux has them: the bench's load
// and the server's batch engine hand the kernel many datagrams a call through these.
import type * as Ffi from "bun:ffi";
import { bunFfi } from "./libc.ts";

/** MSG_TRUNC makes recvmmsg give a datagram's whole length, longer than its buffer or not. */
export const MSG_TRUNC = 0x20;
/** struct mmsghdr on 64-bit Linux (glibc and musl alike): a msghdr of 56 bytes, then msg_len, then padding. */
const MMSGHDR = 64;
const MSG_NAMELEN = 8;
const MSG_IOV = 16;
const MSG_IOVLEN = 24;
const MSG_LEN = 56;
const IOVEC = 16;
/** NAME is the room for a source or destination address a message has: a sockaddr_in6 (28 bytes), rounded up. */
export const NAME = 32;

/** VectorOptions say where each message's bytes are, and whether it carries an address. */
export interface VectorOptions {
  /** slot is the bytes each message has of its own; ignored with `shared`. */
  slot?: number;
  /** shared, when set, is the one buffer every message sends. */
  shared?: Uint8Array;
  /** names gives each message room for an address (msg_name): a server's sources, and where its replies go. */
  names?: boolean;
}

/** MessageVector is an array of struct mmsghdr over memory of our own, each with one iovec. */
export class MessageVector {
  readonly ptr: Ffi.Pointer;
  /** slots are the messages' bytes, `slot` apart (empty with `shared`). */
  readonly slots: Uint8Array;
  /** names are the messages' addresses, NAME bytes apart (empty without `names`). */
  readonly names: Uint8Array;
  private readonly headers: Uint32Array;
  private readonly iov: Uint32Array;
  /**
   * keep holds the memory the headers point into, for as long as the vector lives: a buffer known only by a pointer
   * could be collected while the kernel still reads or writes it.
   */
  private readonly keep: ArrayBuffer[] = [];

  constructor(
    readonly count: number,
    opts: VectorOptions,
  ) {
    const { ptr } = bunFfi();
    const bytes = new ArrayBuffer(count * MMSGHDR);
    this.headers = new Uint32Array(bytes);
    this.ptr = ptr(bytes);
    const iovecs = new ArrayBuffer(count * IOVEC);
    this.iov = new Uint32Array(iovecs);
    const iovPtr = ptr(iovecs);
    const slot = opts.shared ? 0 : (opts.slot ?? 0);
    // Large and zeroed: the system maps it lazily, so only the pages a datagram touches are ever resident.
    this.slots = new Uint8Array(new ArrayBuffer(count * slot));
    this.names = new Uint8Array(new ArrayBuffer(opts.names ? count * NAME : 0));
    this.keep.push(bytes, iovecs, this.slots.buffer as ArrayBuffer, this.names.buffer as ArrayBuffer);
    if (opts.shared) this.keep.push(opts.shared.buffer as ArrayBuffer);
    const base = opts.shared ? ptr(opts.shared.buffer) + opts.shared.byteOffset : slot > 0 ? ptr(this.slots) : 0;
    const namesPtr = opts.names ? ptr(this.names) : 0;
    for (let i = 0; i < count; i++) {
      setPointer(this.iov, i * IOVEC, opts.shared ? base : base + i * slot);
      this.setLength(i, opts.shared ? opts.shared.length : slot);
      setPointer(this.headers, i * MMSGHDR + MSG_IOV, iovPtr + i * IOVEC);
      setPointer(this.headers, i * MMSGHDR + MSG_IOVLEN, 1);
      if (opts.names) {
        setPointer(this.headers, i * MMSGHDR, namesPtr + i * NAME);
        this.setNameLength(i, NAME);
      }
    }
  }

  /** at is the pointer to message i's header: a send of the rest of a batch starts there. */
  at(i: number): Ffi.Pointer {
    return (this.ptr + i * MMSGHDR) as Ffi.Pointer;
  }

  /** setLength sets how many bytes message i sends, or may receive (iov_len). */
  setLength(i: number, bytes: number): void {
    this.iov[(i * IOVEC + 8) >> 2] = bytes;
  }

  /** setNameLength sets the length of message i's address (msg_namelen): its room before a receive. */
  setNameLength(i: number, bytes: number): void {
    this.headers[(i * MMSGHDR + MSG_NAMELEN) >> 2] = bytes;
  }

  /** nameLength is the length of message i's address as the kernel set it. */
  nameLength(i: number): number {
    return this.headers[(i * MMSGHDR + MSG_NAMELEN) >> 2]!;
  }

  /** release lets the memory go: the vector is not to be handed to libc again. */
  release(): void {
    this.keep.length = 0;
  }

  /** setReceived sets message i's msg_len, as a receive would: a datagram copied in from elsewhere. */
  setReceived(i: number, bytes: number): void {
    this.headers[(i * MMSGHDR + MSG_LEN) >> 2] = bytes;
  }

  /** length is the size of message i as the kernel set it (msg_len). */
  length(i: number): number {
    return this.headers[(i * MMSGHDR + MSG_LEN) >> 2]!;
  }
}

/** setPointer writes a 64-bit little-endian value as two 32-bit halves: no BigInt on a path taken per datagram. */
function setPointer(words: Uint32Array, byteOffset: number, value: number): void {
  const low = value >>> 0;
  words[byteOffset >> 2] = low;
  words[(byteOffset >> 2) + 1] = (value - low) / 0x1_0000_0000;
}
