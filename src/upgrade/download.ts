// HTTP for upgrade: small text files, and an asset streamed to a file with a stall timeout, hashed on the way.
import type { FileHandle } from "node:fs/promises";
import { UpgradeError } from "./errors.ts";

/** Progress is called as bytes arrive: received so far, and the total when the server said it. */
export type Progress = (received: number, total: number | undefined) => void;

/** why turns what fetch threw into words: Bun's codes are CamelCase names (ConnectionRefused). */
function why(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "ConnectionRefused" || code === "ECONNREFUSED") return "connection refused";
  if (code === "FailedToOpenSocket" || code === "ENOTFOUND") return "cannot resolve or reach the host";
  if (typeof code === "string" && code) return code;
  return err instanceof Error ? err.message : String(err);
}

/**
 * get starts a request whose body must keep flowing: the response, and `read` that yields the body,
 * failing when `stallMs` passes with no byte (a server that stops sending mid-file).
 */
async function get(url: string, stallMs: number): Promise<{ res: Response; chunks: () => AsyncGenerator<Uint8Array> }> {
  const abort = new AbortController();
  let timer = setTimeout(() => abort.abort(), stallMs);
  const stalled = () =>
    new UpgradeError(
      `download ${url}: no data for ${stallMs / 1000}s (the server stalled; try again, or raise --timeout)`,
    );
  let res: Response;
  try {
    res = await fetch(url, { signal: abort.signal, redirect: "follow" });
  } catch (err) {
    clearTimeout(timer);
    if (abort.signal.aborted) throw stalled();
    throw new UpgradeError(`download ${url}: ${why(err)} (check the network, or point UPCAT_BASE_URL at a mirror)`);
  }
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      const reader = res.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        clearTimeout(timer);
        timer = setTimeout(() => abort.abort(), stallMs);
        yield value;
      }
    } catch (err) {
      if (abort.signal.aborted) throw stalled();
      throw new UpgradeError(`download ${url}: ${why(err)} (the connection broke; try again)`);
    } finally {
      clearTimeout(timer);
    }
  }
  if (!res.ok) {
    clearTimeout(timer);
    await res.body?.cancel().catch(() => {});
  }
  return { res, chunks };
}

/** fetchText downloads a small text file (VERSION, SHA256SUMS); a 404 is `undefined`, any other failure throws. */
export async function fetchText(url: string, stallMs: number): Promise<string | undefined> {
  const { res, chunks } = await get(url, stallMs);
  if (res.status === 404) return undefined;
  if (!res.ok) throw new UpgradeError(`download ${url}: HTTP ${res.status} ${res.statusText}`.trimEnd());
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks()) {
    size += chunk.length;
    // VERSION and SHA256SUMS are a few hundred bytes: a megabyte is not one of them.
    if (size > 1 << 20) throw new UpgradeError(`download ${url}: more than 1 MiB; that is not a release's text file`);
    parts.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(parts));
}

/** Downloaded is what was written: its size and SHA-256, computed from the very bytes written. */
export interface Downloaded {
  size: number;
  sha256: string;
}

/**
 * downloadTo streams url into file, hashing as it writes; fails on a 404, a stall or fewer bytes than Content-Length.
 */
export async function downloadTo(
  url: string,
  file: FileHandle,
  stallMs: number,
  progress?: Progress,
): Promise<Downloaded> {
  const { res, chunks } = await get(url, stallMs);
  if (res.status === 404)
    throw new UpgradeError(`download ${url}: not found (HTTP 404): this release has no such asset`);
  if (!res.ok) throw new UpgradeError(`download ${url}: HTTP ${res.status} ${res.statusText}`.trimEnd());
  const header = res.headers.get("content-length");
  const total = header !== null && /^\d+$/.test(header) ? Number(header) : undefined;
  const hasher = new Bun.CryptoHasher("sha256");
  let size = 0;
  for await (const chunk of chunks()) {
    await file.write(chunk);
    hasher.update(chunk);
    size += chunk.length;
    progress?.(size, total);
  }
  if (total !== undefined && size !== total)
    throw new UpgradeError(`download ${url}: got ${size} of ${total} bytes (the download was cut short; try again)`);
  return { size, sha256: hasher.digest("hex") };
}
