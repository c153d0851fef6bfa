// The faults a relay applies, one set per direction: what they are, which transport takes which, and their names in
// logs.
import type { Transport } from "../transport/transport.ts";

/** Direction is which way bytes go: up is client → target, down is target → client. */
export type Direction = "up" | "down";
export const DIRECTIONS: readonly Direction[] = ["up", "down"];

/** After is when a fault starts: once this many bytes have gone this way, or this long after the connection opened. */
export type After = { bytes: number } | { ms: number };

/** DirectionFaults are what happens to one direction's traffic. Absent: not applied. */
export interface DirectionFaults {
  /** delay holds each chunk or datagram ms, plus or minus up to jitterMs (uniform, from the seed). */
  delay?: { ms: number; jitterMs: number };
  /** bandwidth paces the direction to this many bytes a second (each connection or session its own). */
  bandwidth?: number;
  /** loss drops each datagram with this probability (UDP). */
  loss?: number;
  /** duplicate sends each datagram that passes twice with this probability (UDP). */
  duplicate?: number;
  /** reorder holds datagrams in groups of this many and lets each group go newest first (UDP). */
  reorder?: number;
  /** chunk writes at most this many bytes at a time, a moment apart, so each is a segment of its own (TCP). */
  chunk?: number;
  /** resetAfter resets both sides (RST) once this much has gone this way, or this long after the open (TCP). */
  resetAfter?: After;
  /**
   * stallAfter stops forwarding this way (and, over TCP, stops reading the sender) once this much has gone, or this
   * long after the open.
   */
  stallAfter?: After;
}

export type FaultName = keyof DirectionFaults;

/** Faults are both directions' faults and the seed their random choices come from. */
export interface Faults {
  up: DirectionFaults;
  down: DirectionFaults;
  seed: number;
}

/** FAULT_TRANSPORTS says which transports a fault means something on. */
export const FAULT_TRANSPORTS: Record<FaultName, readonly Transport[]> = {
  delay: ["tcp", "udp"],
  bandwidth: ["tcp", "udp"],
  loss: ["udp"],
  duplicate: ["udp"],
  reorder: ["udp"],
  chunk: ["tcp"],
  resetAfter: ["tcp"],
  stallAfter: ["tcp", "udp"],
};

/** noFaults is a transparent relay. */
export function noFaults(seed = 1): Faults {
  return { up: {}, down: {}, seed };
}

/**
 * describeFaults names the faults in force, as the ready line and `--log json` show them: ["up delay 50ms±10ms", "down
 * loss 1%"].
 */
export function describeFaults(faults: Faults): string[] {
  const out: string[] = [];
  for (const dir of DIRECTIONS) {
    const f = faults[dir];
    if (f.delay) out.push(`${dir} delay ${f.delay.ms}ms${f.delay.jitterMs > 0 ? `±${f.delay.jitterMs}ms` : ""}`);
    if (f.bandwidth !== undefined) out.push(`${dir} bandwidth ${f.bandwidth}B/s`);
    if (f.loss !== undefined) out.push(`${dir} loss ${percent(f.loss)}`);
    if (f.duplicate !== undefined) out.push(`${dir} duplicate ${percent(f.duplicate)}`);
    if (f.reorder !== undefined) out.push(`${dir} reorder ${f.reorder}`);
    if (f.chunk !== undefined) out.push(`${dir} chunk ${f.chunk}B`);
    if (f.resetAfter) out.push(`${dir} reset-after ${after(f.resetAfter)}`);
    if (f.stallAfter) out.push(`${dir} stall-after ${after(f.stallAfter)}`);
  }
  return out;
}

function percent(p: number): string {
  return `${+(p * 100).toFixed(4)}%`;
}

function after(a: After): string {
  return "bytes" in a ? `${a.bytes}B` : `${a.ms}ms`;
}
