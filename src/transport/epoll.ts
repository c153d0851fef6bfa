// epoll(7)'s constants, and struct epoll_event as 64-bit Linux lays it out, for the loops that call libc themselves:
// the bench's TCP load (bench/tcp-libc.ts) and send's UDP window (udp-window-libc.ts).
export const EPOLLIN = 1;
export const EPOLLOUT = 4;
export const EPOLLERR = 8;
export const EPOLLHUP = 0x10;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_MOD = 3;
export const EPOLL_CLOEXEC = 0o2000000;
/** struct epoll_event is packed on x86-64 (12 bytes, data at 4) and naturally aligned elsewhere (16, data at 8). */
export const EPOLL_EVENT = process.arch === "x64" ? 12 : 16;
export const EPOLL_EVENT_DATA = process.arch === "x64" ? 4 : 8;
