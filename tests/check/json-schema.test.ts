// The --json contract: the schema compiles under a strict draft 2020-12 validator, every record jsonRecord can make
// fits it, and it refuses what is not a record.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { CHECK_RECORD_SCHEMA } from "../../src/check/json-schema.ts";
import { STATES } from "../../src/check/result.ts";
import type { CheckResult, CheckTarget } from "../../src/check/result.ts";
import { jsonRecord } from "../../src/check/report/json.ts";
import { fromSource, run } from "../support/run.ts";
import { schemaErrors } from "./json-records.ts";

const open: CheckResult = {
  target: { transport: "tcp", host: "db", port: 5432 },
  state: "open",
  ok: true,
  address: "10.0.0.5",
  latencyMs: 0.25,
  attempts: 1,
};

describe("the --json schema", () => {
  test("is draft 2020-12 and names every field jsonRecord prints as required, in order", () => {
    expect(CHECK_RECORD_SCHEMA.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect<string[]>([...CHECK_RECORD_SCHEMA.required]).toEqual(Object.keys(jsonRecord(open, { index: 0 })));
    expect(schemaErrors(jsonRecord(open, { index: 0 }))).toBe("");
  });

  test("property: every record jsonRecord makes validates (seeded, 300 runs)", () => {
    const target: fc.Arbitrary<CheckTarget> = fc.oneof(
      fc.record({
        transport: fc.constantFrom("tcp" as const, "udp" as const),
        host: fc.constantFrom("127.0.0.1", "::1", "db.example"),
        port: fc.integer({ min: 1, max: 65535 }),
      }),
      fc.record({
        transport: fc.constant("tcp" as const),
        host: fc.constant("web"),
        port: fc.integer({ min: 1, max: 65535 }),
        http: fc.record({ url: fc.webUrl(), secure: fc.boolean() }),
      }),
    );
    const result = fc.record(
      {
        target,
        state: fc.constantFrom(...STATES),
        ok: fc.boolean(),
        address: fc.option(fc.constantFrom("127.0.0.1", "::1"), { nil: undefined }),
        latencyMs: fc.double({ min: 0, max: 1e7, noNaN: true }),
        reply: fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }),
        error: fc.option(fc.string({ minLength: 1, unit: "grapheme" }), { nil: undefined }),
        attempts: fc.integer({ min: 1, max: 1000 }),
        tls: fc.option(
          fc.record({
            subject: fc.string(),
            issuer: fc.string(),
            valid_to: fc.option(
              fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
              { nil: null },
            ),
            days_left: fc.option(fc.integer({ min: -5000, max: 50000 }), { nil: null }),
            authorized: fc.boolean(),
            protocol: fc.option(fc.constantFrom("TLSv1.2", "TLSv1.3"), { nil: null }),
          }),
          { nil: undefined },
        ),
        http: fc.option(
          fc.record({
            status: fc.option(fc.integer({ min: 100, max: 599 }), { nil: null }),
            reason: fc.option(fc.string(), { nil: null }),
            location: fc.option(fc.string(), { nil: null }),
            redirects: fc.integer({ min: 0, max: 10 }),
          }),
          { nil: undefined },
        ),
      },
      { requiredKeys: ["target", "state", "ok", "latencyMs", "attempts"] },
    );
    const place = fc.oneof(
      fc.record({ index: fc.nat(1_000_000) }),
      fc.record({ index: fc.nat(1_000_000), file: fc.string(), line: fc.integer({ min: 1, max: 1_000_000 }) }),
    );
    fc.assert(
      fc.property(result, place, (r, where) => {
        const record = JSON.parse(JSON.stringify(jsonRecord(r as CheckResult, where)));
        expect(schemaErrors(record)).toBe("");
      }),
      { seed: 13, numRuns: 300 },
    );
  });

  test.each([
    ["a field missing", (r: Record<string, unknown>) => delete r.attempts, "must have required property 'attempts'"],
    ["a field it does not name", (r: Record<string, unknown>) => (r.extra = 1), "must NOT have additional properties"],
    [
      "a state that is not one",
      (r: Record<string, unknown>) => (r.state = "up"),
      "data/state must be equal to one of the allowed values",
    ],
    [
      "a proto that is not one",
      (r: Record<string, unknown>) => (r.proto = "ftp"),
      "data/proto must be equal to one of the allowed values",
    ],
    ["port 0", (r: Record<string, unknown>) => (r.port = 0), "data/port must be >= 1"],
    ["a latency as text", (r: Record<string, unknown>) => (r.latency_ms = "1ms"), "data/latency_ms must be number"],
    [
      "an expiry that is not a date-time",
      (r: Record<string, unknown>) =>
        (r.tls = { subject: "", issuer: "", valid_to: "soon", days_left: 1, authorized: true, protocol: null }),
      'data/tls/valid_to must match format "date-time"',
    ],
    [
      "an HTTP status of 99",
      (r: Record<string, unknown>) => (r.http = { status: 99, reason: null, location: null, redirects: 0 }),
      "data/http/status must be >= 100",
    ],
  ])("refuses %s", (_, spoil, words) => {
    const record = JSON.parse(JSON.stringify(jsonRecord(open, { index: 0 })));
    spoil(record);
    expect(schemaErrors(record)).toContain(words);
  });

  test("the copy the README links (src/check/check-record.schema.json) is the one --schema prints", async () => {
    const copy = await Bun.file(new URL("../../src/check/check-record.schema.json", import.meta.url)).text();
    // Regenerate it with: bun src/main.ts check --schema > src/check/check-record.schema.json
    expect(copy).toBe(`${JSON.stringify(CHECK_RECORD_SCHEMA, null, 2)}\n`);
  });

  test("upcat check --schema prints it, and takes no targets", async () => {
    const r = await run(fromSource, ["check", "--schema"]);
    expect(r).toMatchObject({ status: 0, stderr: "" });
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(JSON.stringify(CHECK_RECORD_SCHEMA)));
    const bad = await run(fromSource, ["check", "--schema", "h:1"]);
    expect(bad).toMatchObject({
      status: 2,
      stdout: "",
      stderr: "upcat: --schema prints the schema of a --json line; it takes no targets\n",
    });
  });
});
