// How long one probe may take: Prometheus's scrape timeout less a margin, capped by the module's --timeout.
import { UsageError } from "../errors.ts";

/** MARGIN_MS is what the answer needs after the probe, as Blackbox's timeout_offset (0.5s). */
export const MARGIN_MS = 500;
/** MAX_PROBE_MS bounds a probe whatever the header says: a scrape timeout of an hour holds no slot for an hour. */
export const MAX_PROBE_MS = 120_000;

/**
 * probeTimeoutMs reads X-Prometheus-Scrape-Timeout-Seconds (a decimal number of seconds) and takes MARGIN_MS off it,
 * or half of it when that leaves under MARGIN_MS; the module's own --timeout caps it. Without the header (a person
 * with curl), the module's --timeout, or check's default. A header that does not read is the request's mistake.
 */
export function probeTimeoutMs(header: string | null, moduleMs: number | undefined, defaultMs: number): number {
  if (header === null) return Math.min(moduleMs ?? defaultMs, MAX_PROBE_MS);
  const seconds = /^\d{1,6}(\.\d{1,9})?$/.test(header.trim()) ? Number(header.trim()) : NaN;
  if (!(seconds > 0)) throw new UsageError(`X-Prometheus-Scrape-Timeout-Seconds is not a number of seconds`);
  const scrapeMs = seconds * 1000;
  const left = scrapeMs - MARGIN_MS < MARGIN_MS ? scrapeMs / 2 : scrapeMs - MARGIN_MS;
  return Math.max(1, Math.floor(Math.min(left, moduleMs ?? Infinity, MAX_PROBE_MS)));
}
