// Writes SHA256SUMS in the format `sha256sum -c` reads: "<64 hex>  <name>" a line.
import { join } from "node:path";

/** sha256 hashes a file without holding all of its ~100 MB in memory at once. */
export async function sha256(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest("hex");
}

/** writeSums writes dir/SHA256SUMS for the named files in dir, sorted by name. */
export async function writeSums(dir: string, names: string[]): Promise<void> {
  const lines: string[] = [];
  for (const name of [...names].sort()) lines.push(`${await sha256(join(dir, name))}  ${name}\n`);
  await Bun.write(join(dir, "SHA256SUMS"), lines.join(""));
}
