// The relay's --max-output holds in aggregate (issue 25): many clients whose target never reads make the relay hold
// at most the total, not a read each past it.
import { afterEach, expect, test } from "bun:test";
import type { Socket } from "bun";
import { newBudgets } from "../../src/transport/gate.ts";
import { DEFAULT_LIMITS } from "../../src/transport/listener.ts";
import { OutputBudget } from "../../src/transport/output-budget.ts";
import { figure } from "../support/figures.ts";
import { waitFor } from "../support/wait.ts";
import { Cleanup, relay, tcpClient } from "./harness.ts";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** PeakBudget is the relay's budget, keeping the most it ever counted: a poll would miss a peak between two looks. */
class PeakBudget extends OutputBudget {
  peak = 0;
  override add(bytes: number): void {
    super.add(bytes);
    this.peak = Math.max(this.peak, this.queued);
  }
}

const CLIENTS = 60;
const MAX = 2 << 20;

test(`--max-output 2m: ${CLIENTS} clients to a target that never reads make the relay hold at most 2 MB`, async () => {
  // The target accepts and never reads: every byte the relay takes in past the kernels' buffers is held.
  const accepted: Socket<unknown>[] = [];
  const target = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: { open: (s) => void (s.pause(), accepted.push(s)), data() {}, error() {} },
  });
  cleanup.add(() => target.stop(true));
  const output = new PeakBudget(MAX);
  // The process's budgets, with the total the test watches in place of theirs.
  const budgets = { ...newBudgets({ limits: DEFAULT_LIMITS }), output };
  const r = await relay(cleanup, { target: target.port, budgets });
  const data = new Uint8Array(16 << 20).fill(120);
  for (let k = 0; k < CLIENTS; k++) await tcpClient(cleanup, r.port, data, false);
  await waitFor("the accepts", () => accepted.length === CLIENTS, 5000);
  // Until the relay stops taking input: still for 300 ms, the quiet window is the measure.
  let last = -1;
  while (r.relay.up.received !== last) {
    last = r.relay.up.received;
    await Bun.sleep(300);
  }
  figure(
    `relay output total: ${CLIENTS} links to a target that never reads, ` +
      `${(last / (1 << 20)).toFixed(0)} MB in, peak held ${(output.peak / (1 << 20)).toFixed(2)} MB of ${MAX >> 20} MB`,
  );
  expect(output.full).toBe(true);
  // Before, each link could add a read (up to 512 KiB) after the total was reached: tens of MB here.
  expect(output.peak).toBeLessThanOrEqual(MAX);
  expect(output.queued).toBe(r.relay.up.received - r.relay.up.forwarded);
}, 30_000);
