// Fails when src's imports form a circle, or when a domain folder imports up into src/cli/. Part of `bun run lint`.
// Type-only imports count too: a circle of types is still files that cannot be read one without the other.
import { Glob } from "bun";
import { dirname, join, normalize } from "node:path";

// The folders below cli/: data flows argv → cli → domain, never back.
const DOMAIN = ["transport", "protocol", "check", "relay", "bench", "upgrade", "text", "workers", "exporter"].map(
  (d) => `src/${d}/`,
);

// Circles known and being removed. Each entry is the files of one circle: a circle whose files all lie in one
// entry is let through. Delete the entry with the change that breaks the circle.
const ALLOWED_CIRCLES: string[][] = [];

// Static imports and re-exports (`import … from "x"`, `export … from "x"`, `import "x"`) and `import("x")`.
const SPECIFIER = /(?:\b(?:import|export)\b[^;"'`]*?\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g;

async function graph(): Promise<Map<string, string[]>> {
  const edges = new Map<string, string[]>();
  for await (const path of new Glob("src/**/*.ts").scan(".")) {
    const text = await Bun.file(path).text();
    const targets = [...text.matchAll(SPECIFIER)].map((m) => normalize(join(dirname(path), m[1]!)));
    edges.set(path, [...new Set(targets)].sort());
  }
  return edges;
}

// circles are the strongly connected components of more than one file, or of one that imports itself (Tarjan).
function circles(edges: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || edges.get(v)!.includes(v)) found.push(component.sort());
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

// loopThrough names one shortest circle from a component's first file back to itself (breadth first).
function loopThrough(component: string[], edges: Map<string, string[]>): string[] {
  const start = component[0]!;
  const inside = new Set(component);
  const before = new Map<string, string>();
  const queue = [start];
  for (const v of queue) {
    for (const w of edges.get(v) ?? []) {
      if (w === start) {
        const loop = [v];
        while (loop[0] !== start) loop.unshift(before.get(loop[0]!)!);
        return [...loop, start];
      }
      if (inside.has(w) && !before.has(w)) {
        before.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

const edges = await graph();
const problems: string[] = [];
for (const component of circles(edges)) {
  if (ALLOWED_CIRCLES.some((allowed) => component.every((file) => allowed.includes(file)))) continue;
  const loop = loopThrough(component, edges);
  const more = component.filter((file) => !loop.includes(file));
  problems.push(
    `import cycle: ${loop.join(" → ")}${more.length > 0 ? ` (in the same circle: ${more.join(", ")})` : ""}`,
  );
}
for (const [from, targets] of [...edges].sort(([a], [b]) => a.localeCompare(b))) {
  if (!DOMAIN.some((d) => from.startsWith(d))) continue;
  for (const to of targets) if (to.startsWith("src/cli/")) problems.push(`domain imports cli: ${from} → ${to}`);
}
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
