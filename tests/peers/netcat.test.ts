// The netcat peer tests against upcat run from source.
import { fromSource } from "../support/run.ts";
import { netcatScenarios } from "./netcat.ts";

netcatScenarios(() => fromSource);
