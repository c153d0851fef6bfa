// `upcat relay` through the compiled binary, with no node or bun on PATH: the same scenarios as from source
// (tests/relay/scenarios.ts).
import { compiled } from "../support/binary.ts";
import { relayScenarios } from "../relay/scenarios.ts";

relayScenarios(compiled);
