// Reads `upcat check --json` output in tests: every line is parsed and validated against the published schema
// (--schema) with Ajv.
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { CHECK_RECORD_SCHEMA } from "../../src/check/json-schema.ts";

type Validate = ReturnType<Ajv2020["compile"]>;
const compiled = new Map<string, { ajv: Ajv2020; validate: Validate }>();

/**
 * validatorFor compiles a schema once (the source's, or the one a binary printed with --schema), each in its own Ajv
 * (one $id each).
 */
export function validatorFor(schema: object = CHECK_RECORD_SCHEMA): { ajv: Ajv2020; validate: Validate } {
  const key = JSON.stringify(schema);
  let v = compiled.get(key);
  if (!v) {
    // strict: a keyword or format the validator does not know is an error, so the schema cannot say more than it
    // checks.
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(ajv);
    v = { ajv, validate: ajv.compile(schema) };
    compiled.set(key, v);
  }
  return v;
}

/** schemaErrors is what the schema says is wrong with one record, or "" when it is valid. */
export function schemaErrors(record: unknown, schema: object = CHECK_RECORD_SCHEMA): string {
  const { ajv, validate } = validatorFor(schema);
  return validate(record) ? "" : ajv.errorsText(validate.errors);
}

/**
 * jsonRecords parses --json output, one object a line, and fails with the schema's words on any line that does not
 * validate.
 */
// biome-ignore lint/suspicious/noExplicitAny: records are read field by field, after the schema vouched for them
export function jsonRecords(stdout: string, schema: object = CHECK_RECORD_SCHEMA): any[] {
  const lines = stdout.split("\n").filter((l) => l !== "");
  return lines.map((line) => {
    const record = JSON.parse(line);
    const errors = schemaErrors(record, schema);
    if (errors) throw new Error(`a --json line does not validate against --schema: ${errors}\n${line}`);
    return record;
  });
}

/** jsonRecord is the one record of a single-target --json run. */
export function jsonRecord(stdout: string, schema?: object) {
  const records = jsonRecords(stdout, schema);
  if (records.length !== 1) throw new Error(`expected one --json line, got ${records.length}: ${stdout}`);
  return records[0];
}

/**
 * escapedBytes reads a reply that --json had to escape back into its bytes: \xNN is a byte, \\ a backslash, anything
 * else its UTF-8.
 */
export function escapedBytes(text: string): Uint8Array {
  const encoder = new TextEncoder();
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text.startsWith("\\x", i)) {
      out.push(Number.parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (text.startsWith("\\\\", i)) {
      out.push(0x5c);
      i++;
    } else {
      const ch = String.fromCodePoint(text.codePointAt(i)!);
      out.push(...encoder.encode(ch));
      i += ch.length - 1;
    }
  }
  return Uint8Array.from(out);
}
