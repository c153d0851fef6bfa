// `upcat check` from source.
import { checkScenarios } from "./check-scenarios.ts";
import { fromSource } from "../support/run.ts";

checkScenarios(() => fromSource);
