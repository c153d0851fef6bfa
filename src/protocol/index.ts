// The table of protocols upcat speaks, by the name `--protocol` takes.
import { UsageError } from "../errors.ts";
import type { Protocol } from "./protocol.ts";
import { upper } from "./upper.ts";

export const protocols = { upper } satisfies Record<string, Protocol>;

/** protocolNamed finds a protocol by name, or says which names exist. */
export function protocolNamed(name: string): Protocol {
  const found = (protocols as Record<string, Protocol>)[name];
  if (!found) {
    throw new UsageError(`unknown protocol "${name}" (known: ${Object.keys(protocols).join(", ")})`);
  }
  return found;
}
