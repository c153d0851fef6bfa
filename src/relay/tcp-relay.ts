// The TCP relay: a connection to the target for each client, a pipe each way, half-close and resets passed on, the
// server's bounds applied.
import type { Socket, SocketHandler } from "bun";
import { errnoCode } from "../errors.ts";
import { plainAddress } from "../transport/address.ts";
import { listenTcp } from "../transport/bun-socket.ts";
import { bindOrExplain } from "../transport/listener.ts";
import type { Direction } from "./faults.ts";
import { randomFor } from "./random.ts";
import { type RelayShared, relayShared } from "./shared.ts";
import type { Relay, RelayCloseReason, RelayOptions } from "./types.ts";
import { type PipeOwner, StreamPipe } from "./stream-pipe.ts";
import { EXPIRY_LIMIT, expiryOf, startSweep } from "../transport/expiry.ts";

/** Shared is what every connection of one relay shares. */
interface Shared extends RelayShared {
  readonly links: Set<Link>;
}

type RelaySocket = Socket<Link>;

/** Link is one relayed connection: the client's socket, the target's, and a pipe each way (whose owner it is). */
class Link implements PipeOwner {
  server: RelaySocket | undefined;
  readonly up: StreamPipe;
  readonly down: StreamPipe;
  readonly openedAt = Date.now();
  lastActive = Date.now();
  reason: RelayCloseReason | undefined;
  error: string | undefined;
  clientClosed = false;
  serverClosed = false;
  /** reported: the close event is out and the link forgotten, once. */
  reported = false;
  stalledWays: string[] = [];

  constructor(
    readonly shared: Shared,
    readonly client: RelaySocket,
    readonly peer: string,
    readonly port: number,
    /** slot is the client's address as --max-per-address counts it, given back once the link is reported. */
    readonly slot: string,
  ) {
    const { faults, limits, output, relay } = shared;
    const n = shared.opened++;
    this.up = new StreamPipe(
      "up",
      faults.up,
      () => randomFor(faults.seed, n, "up"),
      limits.maxPending,
      output,
      this,
      relay.up,
    );
    this.down = new StreamPipe(
      "down",
      faults.down,
      () => randomFor(faults.seed, n, "down"),
      limits.maxPending,
      output,
      this,
      relay.down,
    );
    this.down.dst = client;
  }

  source(direction: Direction): RelaySocket | undefined {
    return direction === "up" ? this.client : this.server;
  }

  received(direction: Direction, n: number): void {
    if (direction === "up") this.shared.counters.bytesIn += n;
    this.lastActive = Date.now();
  }

  forwarded(direction: Direction, n: number): void {
    if (direction === "down") this.shared.counters.bytesOut += n;
    this.lastActive = Date.now();
  }

  /** halt stops reading both sides while the --max-output total is closed. */
  halt(): void {
    this.up.halt();
    this.down.halt();
  }

  reset(): void {
    this.shared.relay.resets++;
    this.resetBoth("fault");
  }

  stalled(direction: Direction): void {
    this.shared.relay.stalls++;
    this.stalledWays.push(`${direction} stall-after`);
  }

  /** connected: the target accepted; what the client sent meanwhile goes now. */
  connected(server: RelaySocket): void {
    if (this.reported || this.reason) return void server.terminate();
    this.server = server;
    this.down.attach(server);
    this.up.dst = server;
    this.up.pump();
    // A --reset-after 0 going down fires now: no byte need come for it.
    this.down.pump();
  }

  /** targetFailed: the target refused (or could not be reached): the client is reset, never left hanging. */
  targetFailed(err: unknown): void {
    // A connect that fails after --connect-timeout already gave up on it says nothing new.
    if (this.reason) return;
    this.shared.relay.targetFailed++;
    this.error = errnoCode(err) ?? "ECONNREFUSED";
    this.serverClosed = true;
    this.resetBoth("target");
  }

  /**
   * clientGone: the client's socket closed; a reset goes on to the target as a reset, a close as a FIN once the queue
   * is out.
   */
  clientGone(err: unknown): void {
    this.clientClosed = true;
    if (err || this.reason) return this.resetBoth(this.reason ?? "reset", err);
    this.up.end();
    this.down.stop();
    if (this.up.finished) this.server?.end();
    this.settle();
  }

  /**
   * serverGone: the target's socket closed; a reset (or vanishing) resets the client, a close is a FIN once the queue
   * is out.
   */
  serverGone(err: unknown): void {
    this.serverClosed = true;
    // A close that follows our own reset or close says nothing new.
    if (this.reason) return this.resetBoth(this.reason);
    if (err) {
      this.shared.relay.targetFailed++;
      return this.resetBoth("target", err);
    }
    this.down.end();
    this.up.stop();
    if (this.down.finished) this.client.end();
    this.settle();
  }

  /** finished: one direction's FIN has been passed on; when both have, or the far side is gone, the sockets close. */
  finished(): void {
    if (this.up.finished && (this.down.finished || this.serverClosed)) {
      this.client.end();
      this.server?.end();
    } else if (this.down.finished && this.clientClosed) {
      this.server?.end();
    }
  }

  /** close closes both sides gracefully (FIN), or resets them when output is still queued that no one will read. */
  close(reason: RelayCloseReason): void {
    this.reason ??= reason;
    if (this.up.queued + this.down.queued > 0) return this.resetBoth(reason);
    this.client.end();
    this.server?.end();
  }

  resetBoth(reason: RelayCloseReason, err?: unknown): void {
    this.reason ??= reason;
    this.error ??= err ? errnoCode(err) : undefined;
    this.up.stop();
    this.down.stop();
    this.client.terminate();
    this.server?.terminate();
    this.settle();
  }

  /** settle reports the link once both sockets are closed. */
  settle(): void {
    if (this.reported || !this.clientClosed || !(this.serverClosed || (!this.server && this.reason))) return;
    this.reported = true;
    this.up.stop();
    this.down.stop();
    const { links, counters, opts, target, faultNames } = this.shared;
    links.delete(this);
    this.shared.gate.release(this.slot);
    counters.open = links.size;
    opts.onEvent?.({
      event: "close",
      transport: "tcp",
      peer: this.peer,
      port: this.port,
      target,
      bytes_in: this.up.tally.received,
      bytes_out: this.down.tally.forwarded,
      forwarded_up: this.up.tally.forwarded,
      forwarded_down: this.down.tally.forwarded,
      dropped_up: this.up.tally.dropped,
      dropped_down: this.down.tally.dropped,
      duration_ms: Date.now() - this.openedAt,
      reason: this.reason ?? "done",
      ...(this.error ? { error: this.error } : {}),
      faults: faultNames,
      ...(this.stalledWays.length > 0 ? { stalled: this.stalledWays } : {}),
    });
  }
}

/** TARGET_HANDLERS are the target side's handlers, one object for every connection. */
const TARGET_HANDLERS: SocketHandler<Link> = {
  open: (server) => server.data.connected(server),
  data: (server, chunk) => server.data.down.push(chunk),
  end: (server) => server.data.down.end(),
  drain: (server) => server.data.up.pump(),
  close: (server, err) => server.data.serverGone(err),
  connectError: (server, err) => server.data.targetFailed(err),
  // The close that follows says what happened; the code is kept for the log.
  error: (server, err) => void (server.data.error ??= errnoCode(err)),
};

/** relayTcp accepts clients on LISTEN and relays each to the target. */
export async function relayTcp(opts: RelayOptions): Promise<Relay> {
  const shared: Shared = { ...relayShared(opts, "tcp"), links: new Set() };
  const { counters, links, limits, output, gate } = shared;
  // Near the --max-output total, every link stops being read, not only the one that added: see OutputBudget.
  const unwatch = output.onFull(() => {
    for (const link of links) link.halt();
  });
  const listener = await bindOrExplain("tcp", { host: opts.listen.host, port: opts.listen.port }, (hostname) =>
    listenTcp<Link>({
      hostname,
      port: opts.listen.port,
      reusePort: opts.reusePort,
      // A client's FIN ends what it sends, not what it is sent: the target's reply still has to come back.
      allowHalfOpen: true,
      socket: {
        open(client) {
          const peer = plainAddress(client.remoteAddress);
          // Each read of remotePort asks the kernel (getpeername) again: once is enough.
          const port = client.remotePort;
          const slot = gate.admit(peer, port, links.size);
          if (slot === undefined) return void client.end();
          const link = new Link(shared, client, peer, port, slot);
          client.data = link;
          links.add(link);
          counters.connections++;
          counters.open = links.size;
          if (output.full) link.halt();
          opts.onEvent?.({ event: "open", transport: "tcp", peer, port: link.port });
          Bun.connect<Link>({
            hostname: opts.target.host,
            port: opts.target.port,
            allowHalfOpen: true,
            data: link,
            socket: TARGET_HANDLERS,
          }).catch(() => {});
        },
        data: (client, chunk) => client.data?.up.push(chunk),
        end: (client) => client.data?.up.end(),
        drain: (client) => client.data?.down.pump(),
        close: (client, err) => client.data?.clientGone(err),
        error: (client, err) => {
          if (client.data) client.data.error ??= errnoCode(err);
        },
      },
    }),
  );
  const bounds = [limits.idleTimeoutMs, limits.maxLifetimeMs, opts.connectTimeoutMs ?? 0];
  const sweeper = startSweep(bounds, () => sweep(shared));
  return {
    transport: "tcp",
    host: listener.hostname,
    port: listener.port,
    counters,
    relay: shared.relay,
    close: () => listener.stop(false),
    stop() {
      clearInterval(sweeper);
      unwatch();
      listener.stop(false);
      for (const link of [...links]) link.close("shutdown");
      listener.stop(true);
    },
  };
}

/**
 * sweep fails the connections whose target has not accepted within --connect-timeout (a target that
 * drops SYNs would otherwise hold the client for the kernel's two minutes), closes those where
 * nothing has moved either way for --idle-timeout, and resets those open longer than --max-lifetime
 * (a client that trickles a byte now and then to keep its slot, which the idle timeout never
 * catches; a reset, since a client that ignores our FIN would keep the slot still). A timer each
 * would cost every connection three.
 */
function sweep(shared: Shared): void {
  const now = Date.now();
  const connectMs = shared.opts.connectTimeoutMs ?? 0;
  const { counters, limits, opts } = shared;
  for (const link of shared.links) {
    if (link.reason) continue;
    if (connectMs > 0 && !link.server && now - link.openedAt >= connectMs) {
      link.targetFailed(Object.assign(new Error("connect timed out"), { code: "ETIMEDOUT" }));
      continue;
    }
    const expired = expiryOf(limits, counters, link, now);
    if (!expired) continue;
    opts.onEvent?.({
      event: "limit",
      transport: "tcp",
      limit: EXPIRY_LIMIT[expired],
      peer: link.peer,
      port: link.port,
    });
    if (expired === "idle") link.close("idle");
    else link.resetBoth("lifetime");
  }
}
