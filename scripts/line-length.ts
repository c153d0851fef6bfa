// Fails when a line of src, tests or scripts runs past 120 columns: Biome's formatter wraps code, but not strings,
// regular expressions or comments. Part of `bun run lint`.
import { Glob } from "bun";

const LIMIT = 120;
const long: string[] = [];
for (const pattern of ["src/**/*.ts", "tests/**/*.ts", "scripts/**/*.ts"]) {
  for await (const path of new Glob(pattern).scan(".")) {
    const lines = (await Bun.file(path).text()).split("\n");
    lines.forEach((line, i) => {
      if (line.length > LIMIT) long.push(`${path}:${i + 1}: ${line.length} columns`);
    });
  }
}
if (long.length > 0) {
  console.error(`lines over ${LIMIT} columns:\n${long.join("\n")}`);
  process.exit(1);
}
