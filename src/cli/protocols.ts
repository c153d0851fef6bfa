// `upcat protocols`: the table of protocols, their default ports and where each is defined.
import type { CAC } from "cac";
import { protocols } from "../protocol/index.ts";
import type { Io } from "./io.ts";

function list(raw: Record<string, unknown>, io: Io): number {
  const rows = Object.values(protocols);
  if (raw.json) {
    for (const p of rows)
      io.out(`${JSON.stringify({ name: p.name, port: p.port, spec: p.spec, summary: p.summary })}\n`);
    return 0;
  }
  const c = io.outColor;
  const nameWidth = Math.max(...rows.map((p) => p.name.length));
  const specWidth = Math.max(...rows.map((p) => p.spec.length));
  for (const p of rows) {
    io.out(
      `${c.bold(p.name.padEnd(nameWidth))}  ${String(p.port).padStart(5)}  ${c.dim(p.spec.padEnd(specWidth))}  ` +
        `${p.summary}\n`,
    );
  }
  return 0;
}

export function registerProtocols(cli: CAC, io: Io): void {
  cli
    .command("protocols", "List the protocols upcat speaks, with default ports and specs")
    .option("--json", "One JSON object per protocol")
    .action(async (options: Record<string, unknown>) => {
      const status = list(options, io);
      await io.flush();
      return status;
    });
}
