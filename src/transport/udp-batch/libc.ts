// The libc calls the batch UDP engine makes (bun:ffi): finding the descriptor of Bun's socket, and the batch calls.
import { libcOnce } from "../libc.ts";

/** batchLibc is those calls on 64-bit Linux, or null where they are not to be had (Bun's socket alone then). */
export const batchLibc = libcOnce((t) => ({
  getsockname: { args: [t.i32, t.ptr, t.ptr], returns: t.i32 },
  getsockopt: { args: [t.i32, t.i32, t.i32, t.ptr, t.ptr], returns: t.i32 },
  recvmmsg: { args: [t.i32, t.ptr, t.u32, t.i32, t.ptr], returns: t.i32 },
  sendmmsg: { args: [t.i32, t.ptr, t.u32, t.i32], returns: t.i32 },
  sched_yield: { args: [], returns: t.i32 },
}));
export type BatchLibc = NonNullable<ReturnType<typeof batchLibc>>;
