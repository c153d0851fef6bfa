// How `upcat check` answers a wrong command line under --nagios: a monitoring system reads stdout and
// wants UNKNOWN (3) for a plugin it called wrongly, not exit 2 and a line on stderr it never shows.
import { shownMessage } from "../text/message.ts";
import type { Io } from "./io.ts";
import type { UsageErrorHandler } from "./usage-errors.ts";

/** nagiosUsage is check's usage-error handler: UNKNOWN on stdout and 3 under --nagios, the usual otherwise. */
export function nagiosUsage(io: Io): UsageErrorHandler {
  return async (err, options) => {
    if (!options.nagios) return undefined;
    io.out(`UPCAT UNKNOWN - ${shownMessage(err.message).replaceAll("|", "/")}\n`);
    await io.flush();
    return 3;
  };
}
