// The command line from source: every scenario in scenarios.ts, through `bun src/main.ts`.
import { cliScenarios } from "./scenarios.ts";
import { fromSource } from "../support/run.ts";

cliScenarios(() => fromSource);
