// Release versions as upgrade reads them: strict x.y.z[-pre], compared part by part.

const VERSION = /^v?(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:-([0-9A-Za-z.-]{1,64}))?$/;

/** parseVersion reads "0.3.0" or "v0.3.0" and returns "0.3.0"; undefined for anything else. */
export function parseVersion(text: string): string | undefined {
  const m = VERSION.exec(text);
  return m ? text.replace(/^v/, "") : undefined;
}

/**
 * compareVersions is negative when a is older than b, 0 when equal, positive when newer (a pre-release is older than
 * its release).
 */
export function compareVersions(a: string, b: string): number {
  const pa = VERSION.exec(a);
  const pb = VERSION.exec(b);
  if (!pa || !pb) throw new Error(`not versions: ${a}, ${b}`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return d;
  }
  if (pa[4] === pb[4]) return 0;
  if (pa[4] === undefined) return 1;
  if (pb[4] === undefined) return -1;
  return pa[4] < pb[4] ? -1 : 1;
}
