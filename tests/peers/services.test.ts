// The RFC services' peer tests against upcat run from source.
import { fromSource } from "../support/run.ts";
import { servicesScenarios } from "./services.ts";

servicesScenarios(() => fromSource);
