// Runs a block of UDP server tests once on each engine UPCAT_UDP_ENGINE picks: Bun's socket, and libc's batches.
import { afterAll, beforeAll, describe } from "bun:test";

export const UDP_ENGINES = ["bun", "batch"] as const;
export type UdpEngine = (typeof UDP_ENGINES)[number];

/**
 * eachUdpEngine declares `body` in a describe block per engine, with UPCAT_UDP_ENGINE set for its hooks and tests:
 * servers bound in process read it at the bind, and servers started as programs inherit it (tests/abuse/support.ts).
 */
export function eachUdpEngine(body: (engine: UdpEngine) => void): void {
  describe.each(UDP_ENGINES)("UDP engine %s", (engine) => {
    let before: string | undefined;
    beforeAll(() => {
      before = process.env.UPCAT_UDP_ENGINE;
      process.env.UPCAT_UDP_ENGINE = engine;
    });
    afterAll(() => {
      if (before === undefined) delete process.env.UPCAT_UDP_ENGINE;
      else process.env.UPCAT_UDP_ENGINE = before;
    });
    body(engine);
  });
}

/** udpEngineEnv is the engine variable as it is now, for a server started as a program. */
export const udpEngineEnv = (): Record<string, string> =>
  process.env.UPCAT_UDP_ENGINE ? { UPCAT_UDP_ENGINE: process.env.UPCAT_UDP_ENGINE } : {};
