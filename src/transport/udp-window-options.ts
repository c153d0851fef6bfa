// What a piped `send` over UDP asks of its window, on either engine (udp-window.ts, udp-window-libc.ts).

export interface UdpWindowOptions {
  /** window is how many requests may wait for their replies at once. */
  window: number;
  timeoutMs: number;
  retries: number;
  /** onReply gets each reply, in the order of the requests. */
  onReply(reply: Uint8Array): void;
}
