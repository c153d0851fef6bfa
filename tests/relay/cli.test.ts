// `upcat relay` from source: bad input, the logs, and peers nobody here wrote on both sides (scenarios.ts).
import { fromSource } from "../support/run.ts";
import { relayScenarios } from "./scenarios.ts";

relayScenarios(() => fromSource);
