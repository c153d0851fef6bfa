// The table of protocols upcat speaks, by the name `--protocol` takes.
import { UsageError } from "../errors.ts";
import { chargen } from "./chargen.ts";
import { daytime } from "./daytime.ts";
import { discard } from "./discard.ts";
import { echo } from "./echo.ts";
import type { Protocol } from "./protocol.ts";
import { qotd } from "./qotd.ts";
import { time } from "./time.ts";
import { upper } from "./upper.ts";
import { quote } from "../text/shown.ts";

export const protocols = { upper, echo, discard, chargen, qotd: qotd(), daytime, time } satisfies Record<
  string,
  Protocol
>;

/** protocolNamed finds a protocol by name, or says which names exist. */
export function protocolNamed(name: string): Protocol {
  const found = (protocols as Record<string, Protocol>)[name];
  if (!found) {
    throw new UsageError(`unknown protocol ${quote(name)} (known: ${Object.keys(protocols).join(", ")})`);
  }
  return found;
}
