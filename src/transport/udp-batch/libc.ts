// The libc calls the batch UDP engine makes (bun:ffi): its own socket, bound as Bun binds one, and the batch calls.
import { libcOnce } from "../libc.ts";

/** batchLibc is those calls on 64-bit Linux, or null where they are not to be had (Bun's socket then). */
export const batchLibc = libcOnce((t) => ({
  bind: { args: [t.i32, t.ptr, t.u32], returns: t.i32 },
  setsockopt: { args: [t.i32, t.i32, t.i32, t.ptr, t.u32], returns: t.i32 },
  getsockname: { args: [t.i32, t.ptr, t.ptr], returns: t.i32 },
  recvmmsg: { args: [t.i32, t.ptr, t.u32, t.i32, t.ptr], returns: t.i32 },
  sendmmsg: { args: [t.i32, t.ptr, t.u32, t.i32], returns: t.i32 },
  eventfd: { args: [t.u32, t.i32], returns: t.i32 },
  write: { args: [t.i32, t.ptr, t.u64], returns: t.i64 },
  sched_yield: { args: [], returns: t.i32 },
}));
export type BatchLibc = NonNullable<ReturnType<typeof batchLibc>>;
