// readEscapes moved to src/text/escapes.ts (send -e reads the same escapes); this re-export goes once
// src/cli/check-plan.ts imports it from there.
export { readEscapes } from "../text/escapes.ts";
