// HTTP for upgrade: a release's small text files read whole within --timeout, and its asset streamed to a file that may
// stall no longer than --timeout; each capped in size, the cap held against Content-Length before the first byte.
import type { FileHandle } from "node:fs/promises";
import { cut, escapeControl } from "../text/shown.ts";
import { ASSET_MAX, sizeName, TEXT_MAX } from "./bounds.ts";
import { UpgradeError } from "./errors.ts";

/** Progress is called as bytes arrive: received so far, and the total when the server said it. */
export type Progress = (received: number, total: number | undefined) => void;

/** why turns what fetch threw into words: Bun's codes are CamelCase names (ConnectionRefused). */
function why(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "ConnectionRefused" || code === "ECONNREFUSED") return "connection refused";
  if (code === "FailedToOpenSocket" || code === "ENOTFOUND") return "cannot resolve or reach the host";
  if (typeof code === "string" && code) return escapeControl(cut(code, 40));
  return escapeControl(cut(err instanceof Error ? err.message : String(err)));
}

/** seconds writes a timeout for a message: 2000 → "2s", 500 → "0.5s". */
function seconds(ms: number): string {
  return `${+(ms / 1000).toFixed(3)}s`;
}

/**
 * Watchdog aborts a request when its timer runs out: armed once, it bounds a request whole (headers and body, a
 * dripping body included); re-armed by every chunk, it bounds a stall.
 */
class Watchdog {
  readonly controller = new AbortController();
  fired = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly ms: number) {
    this.arm();
  }

  arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.fired = true;
      this.controller.abort();
    }, this.ms);
  }

  /** end stops the timer and closes the connection: a server still sending is cut off, not read on. */
  end(): void {
    clearTimeout(this.timer);
    this.controller.abort();
  }
}

/** Rules are what one request may do: how many bytes, and what to say when its watchdog fires. */
interface Rules {
  cap: number;
  /** what names the file in a message about its size: "release text file", "release binary". */
  what: string;
  dog: Watchdog;
  late: () => UpgradeError;
  /** stall re-arms the watchdog at every chunk; without it the watchdog bounds the request whole. */
  stall: boolean;
  take: (chunk: Uint8Array, total: number | undefined) => void | Promise<void>;
}

/** contentLength is the length the server declared, if it declared one that is a number. */
function contentLength(res: Response): number | undefined {
  const header = res.headers.get("content-length");
  return header !== null && /^\d{1,20}$/.test(header) ? Number(header) : undefined;
}

/**
 * fetchCapped requests url and hands its body to `take` chunk by chunk; it returns the bytes taken and the declared
 * length, or undefined for a 404. It fails past `cap` (from Content-Length before any byte is read, or as bytes
 * arrive, before the chunk that crosses it is taken) and when the watchdog fires; the connection is closed either way.
 */
async function fetchCapped(url: string, r: Rules): Promise<{ size: number; total?: number } | undefined> {
  let res: Response;
  try {
    res = await fetch(url, { signal: r.dog.controller.signal, redirect: "follow" });
  } catch (err) {
    r.dog.end();
    if (r.dog.fired) throw r.late();
    throw new UpgradeError(`download ${url}: ${why(err)} (check the network, or point UPCAT_BASE_URL at a mirror)`);
  }
  try {
    if (res.status === 404) return undefined;
    if (!res.ok)
      throw new UpgradeError(`download ${url}: HTTP ${res.status} ${escapeControl(cut(res.statusText, 60))}`.trimEnd());
    const total = contentLength(res);
    if (total !== undefined && total > r.cap)
      throw new UpgradeError(
        `download ${url}: the server says it is ${total} bytes, more than the ${sizeName(r.cap)} a ${r.what} may ` +
          `be; nothing was read`,
        "too-large",
      );
    // A 204 or 205 has no body at all: an empty file, for the caller to judge.
    const reader = res.body?.getReader();
    if (!reader) return { size: 0, total };
    let size = 0;
    for (;;) {
      let step: Awaited<ReturnType<typeof reader.read>>;
      try {
        step = await reader.read();
      } catch (err) {
        if (r.dog.fired) throw r.late();
        throw new UpgradeError(`download ${url}: ${why(err)} (the connection broke; try again)`);
      }
      if (step.done) return { size, total };
      size += step.value.length;
      if (size > r.cap)
        throw new UpgradeError(
          `download ${url}: more than ${sizeName(r.cap)}, which no ${r.what} is; stopped there`,
          "too-large",
        );
      if (r.stall) r.dog.arm();
      await r.take(step.value, total);
    }
  } finally {
    r.dog.end();
  }
}

/**
 * fetchText downloads a small text file (VERSION, SHA256SUMS) whole within timeoutMs and at most `cap` bytes; a 404 is
 * `undefined`, any other failure throws.
 */
export async function fetchText(url: string, timeoutMs: number, cap = TEXT_MAX): Promise<string | undefined> {
  const parts: Uint8Array[] = [];
  const got = await fetchCapped(url, {
    cap,
    what: "release text file",
    dog: new Watchdog(timeoutMs),
    late: () =>
      new UpgradeError(
        `download ${url}: not whole within ${seconds(timeoutMs)} (the server is slow or drips; try again, or ` +
          `raise --timeout)`,
        "timeout",
      ),
    stall: false,
    take: (chunk) => {
      parts.push(chunk);
    },
  });
  return got && new TextDecoder().decode(Buffer.concat(parts));
}

/** Downloaded is what was written: its size and SHA-256, computed from the very bytes written. */
export interface Downloaded {
  size: number;
  sha256: string;
}

/** DownloadOptions bound a download: stallMs with no byte, and cap bytes in all. */
export interface DownloadOptions {
  stallMs: number;
  cap?: number;
  progress?: Progress;
}

/**
 * downloadTo streams url into file, hashing as it writes; fails on a 404, a stall, more than the cap, or fewer bytes
 * than Content-Length.
 */
export async function downloadTo(url: string, file: FileHandle, o: DownloadOptions): Promise<Downloaded> {
  const hasher = new Bun.CryptoHasher("sha256");
  let written = 0;
  const got = await fetchCapped(url, {
    cap: o.cap ?? ASSET_MAX,
    what: "release binary",
    dog: new Watchdog(o.stallMs),
    late: () =>
      new UpgradeError(
        `download ${url}: no data for ${seconds(o.stallMs)} (the server stalled; try again, or raise --timeout)`,
        "stalled",
      ),
    stall: true,
    take: async (chunk, total) => {
      try {
        await file.write(chunk);
      } catch (err) {
        const code = (err as { code?: string }).code;
        throw new UpgradeError(`cannot write the download (${code ?? String(err)}); nothing was replaced`);
      }
      hasher.update(chunk);
      written += chunk.length;
      o.progress?.(written, total);
    },
  });
  if (!got) throw new UpgradeError(`download ${url}: not found (HTTP 404): this release has no such asset`);
  if (got.total !== undefined && got.size !== got.total)
    throw new UpgradeError(
      `download ${url}: got ${got.size} of ${got.total} bytes (the download was cut short; try again)`,
    );
  return { size: got.size, sha256: hasher.digest("hex") };
}
