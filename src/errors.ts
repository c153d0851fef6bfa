// Typed errors the domain throws; src/main.ts alone turns them into messages and exit statuses.

/** UsageError is a wrong command line or input the user must fix: exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Words for the errno codes a user meets, in netcat's terse style. */
export const REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by peer",
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available on this machine",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ENOTFOUND: "unknown host",
  EAI_NONAME: "unknown host",
  EAI_AGAIN: "name lookup failed (temporary DNS failure)",
  ETIMEDOUT: "timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EMSGSIZE: "message too long",
  EAFNOSUPPORT: "address family not supported",
  EPIPE: "connection closed by peer",
  EMFILE: "too many open files in this process (ulimit -n)",
  ENFILE: "too many open files on this machine",
};

/** NetErrorFields are what a failed network operation is, as data: the cli adds words and hints from them. */
export interface NetErrorFields {
  /** op is what was being done: connect, read, write, resolve, bind. */
  readonly op: string;
  readonly transport: string;
  /** address is where: host:port, [v6]:port, or the name being resolved. */
  readonly address: string;
  /** reason is the failure in words: "connection refused", "timed out after 2000ms". */
  readonly reason: string;
  /** code is the errno name (ECONNREFUSED, ETIMEDOUT...) that states are read from, never the words. */
  readonly code?: string;
  /** hint is what to try, added by the command that knows its flags. */
  readonly hint?: string;
}

/**
 * NetError is a network operation that failed: exit status 1. It names the operation, transport and address, as Go's
 * net.OpError does: `connect tcp 127.0.0.1:7: connection refused`.
 */
export class NetError extends Error implements NetErrorFields {
  override name = "NetError";
  readonly op: string;
  readonly transport: string;
  readonly address: string;
  readonly reason: string;
  readonly code?: string;
  readonly hint?: string;

  constructor(fields: NetErrorFields) {
    const { op, transport, address, reason, hint } = fields;
    super(`${op} ${transport} ${address}: ${reason}${hint ? ` (${hint})` : ""}`);
    ({
      op: this.op,
      transport: this.transport,
      address: this.address,
      reason: this.reason,
      code: this.code,
      hint: this.hint,
    } = fields);
  }

  /** withHint is the same error with what to try added, where it has none yet: the cli's words, named flags and all. */
  withHint(hint: string | undefined): NetError {
    if (!hint || this.hint) return this;
    return new NetError({ ...this.fields(), hint });
  }

  /** fields is the error as data. */
  fields(): NetErrorFields {
    const { op, transport, address, reason, code, hint } = this;
    return { op, transport, address, reason, code, hint };
  }

  /** NetError.from wraps whatever a socket call threw, keeping its errno code. */
  static from(op: string, transport: string, address: string, err: unknown, hint?: string): NetError {
    if (err instanceof NetError) return err;
    const code = errnoCode(err);
    const reason = (code && REASONS[code]) ?? (err instanceof Error ? err.message : String(err));
    return new NetError({ op, transport, address, reason, code, hint });
  }
}

/** errnoCode reads the errno name from an error thrown by Bun or node:dns, if it has one. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string") return code;
  // Bun sometimes reports only the name inside the message ("EADDRINUSE: address in use").
  const match = err instanceof Error ? /\b(E[A-Z_]{3,})\b/.exec(err.message) : null;
  return match?.[1];
}
