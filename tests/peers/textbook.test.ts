// The textbook peer tests against upcat run from source.
import { fromSource } from "../support/run.ts";
import { textbookScenarios } from "./textbook.ts";

textbookScenarios(() => fromSource);
