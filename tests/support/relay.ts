// The seeded random source the fuzz tests draw from. The relay that lived here is now the product's (src/relay, `upcat relay`); its PRNG, the same mulberry32, is re-exported so those tests replay the same inputs.
export { seeded } from "../../src/relay/random.ts";
