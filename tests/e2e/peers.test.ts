// The peer tests (the textbook's Python programs, netcat, socat) against the compiled binary, with no node or bun on
// its PATH.
import { netcatScenarios } from "../peers/netcat.ts";
import { socatScenarios } from "../peers/socat.ts";
import { textbookScenarios } from "../peers/textbook.ts";
import { compiled } from "../support/binary.ts";

textbookScenarios(compiled);
netcatScenarios(compiled);
socatScenarios(compiled);
