// Trust from source: every scenario in trust-scenarios.ts, through `bun src/main.ts`.
import { fromSource } from "../support/run.ts";
import { trustScenarios } from "./trust-scenarios.ts";

trustScenarios(() => fromSource);
