// The socat peer tests against upcat run from source.
import { fromSource } from "../support/run.ts";
import { socatScenarios } from "./socat.ts";

socatScenarios(() => fromSource);
