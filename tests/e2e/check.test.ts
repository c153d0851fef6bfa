// `upcat check` through the compiled binary, on a PATH with no node and no bun.
import { checkScenarios } from "../cli/check-scenarios.ts";
import { compiled } from "../support/binary.ts";

checkScenarios(compiled);
