// Trust through the compiled binary, on a PATH with no node and no bun: the same scenarios as from source.
import { trustScenarios } from "../cli/trust-scenarios.ts";
import { compiled } from "../support/binary.ts";

trustScenarios(compiled);
