// The published contract of `upcat check --json`: the JSON Schema (draft 2020-12) of one line, printed by --schema.
import { STATES } from "./result.ts";
import { SERVICE_KINDS } from "./services/endpoint.ts";

const nullable = (schema: Record<string, unknown>, description: string) => ({
  description,
  anyOf: [schema, { type: "null" }],
});

/** CHECK_RECORD_SCHEMA describes one object that `upcat check --json` prints, one a line, a target each. */
export const CHECK_RECORD_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "urn:upcat:check:json-record:1",
  title: "upcat check --json record",
  description:
    "One target's verdict, as `upcat check --json` prints it: one object per line, in the order the targets were " +
    "given (index counts them).",
  type: "object",
  required: [
    "target",
    "proto",
    "host",
    "address",
    "port",
    "state",
    "ok",
    "latency_ms",
    "reply",
    "error",
    "attempts",
    "index",
  ],
  additionalProperties: false,
  // A --file target names both its file and its line; bytes in reply_base64 come with their text in reply.
  dependentRequired: { file: ["line"], line: ["file"], reply_base64: ["reply"] },
  dependentSchemas: { reply_base64: { properties: { reply: { type: "string" } } } },
  properties: {
    target: {
      type: "string",
      description:
        "The target as a URL: tcp://host:port, udp://[::1]:port, the http(s):// URL checked, or the service URL " +
        "(postgres://, redis://, dns://...) with its password shown as ***.",
    },
    proto: {
      enum: ["tcp", "udp", "http", "https", ...SERVICE_KINDS],
      description: "What was checked: a TCP or UDP port, an HTTP(S) URL, or a service by its name.",
    },
    host: {
      type: "string",
      description:
        "The host as given (a name, or an IP address without brackets); empty only for a dns:// target with no " +
        "server, which asks the system's resolver.",
    },
    address: nullable(
      { type: "string", minLength: 1 },
      "The IP address the last try used; null when the name did not resolve.",
    ),
    port: { type: "integer", minimum: 1, maximum: 65535 },
    state: {
      enum: [...STATES],
      description: "How the last try ended: open passes (or, under --down, closed and unreachable do).",
    },
    ok: { type: "boolean", description: "The verdict the exit status is made of." },
    latency_ms: {
      type: "number",
      minimum: 0,
      description: "Connect, round-trip or request time of the last try, or how long it took to fail, in milliseconds.",
    },
    reply: nullable(
      { type: "string" },
      "What came back (for HTTP, the body read for --expect/--match); null when nothing was read. When the bytes " +
        "are UTF-8 it is their text, exactly, and reply_base64 is absent; otherwise its UTF-8 sequences are text, " +
        "every other byte is written \\xNN (two hex digits) and every backslash \\\\, and reply_base64 carries " +
        "the bytes. It never holds U+FFFD for bytes that were not the UTF-8 of U+FFFD.",
    ),
    reply_base64: {
      type: "string",
      pattern: "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
      contentEncoding: "base64",
      description:
        "The reply's bytes exactly, in base64 (RFC 4648, padded); present only when they are not UTF-8, so that " +
        "reply had to escape them. Decode reply_base64 when present, else encode reply as UTF-8: the bytes that came.",
    },
    error: nullable({ type: "string", minLength: 1 }, "Why the last try failed, for people; scripts read state."),
    attempts: { type: "integer", minimum: 1, description: "Tries made (--retries, --wait)." },
    index: {
      type: "integer",
      minimum: 0,
      description:
        "The target's place in the run, from 0: the command line's targets in the order given (a range or a " +
        "list counts each port), then --file's in line order. The records come out in this order, and two checks " +
        "of one target differ here.",
    },
    file: {
      type: "string",
      description: "A --file target's file, as --file named it (- for standard input); absent for the command line's.",
    },
    line: {
      type: "integer",
      minimum: 1,
      description: "A --file target's line number in file, from 1; absent for the command line's.",
    },
    tls: {
      type: "object",
      description: "The certificate a TLS check (--tls, https://) was shown.",
      required: ["subject", "issuer", "valid_to", "days_left", "authorized", "protocol"],
      additionalProperties: false,
      properties: {
        subject: { type: "string" },
        issuer: { type: "string" },
        valid_to: nullable(
          { type: "string", format: "date-time" },
          "notAfter, ISO 8601 in UTC; null when the certificate has no date that reads.",
        ),
        days_left: nullable(
          { type: "integer" },
          "Whole days to valid_to, truncated as check_tcp counts them; negative once expired.",
        ),
        authorized: {
          type: "boolean",
          description: "Whether the certificate verified against the trusted CAs and the name.",
        },
        protocol: nullable({ type: "string" }, "The TLS version, e.g. TLSv1.3."),
      },
    },
    http: {
      type: "object",
      description: "What an HTTP(S) check saw of the response.",
      required: ["status", "reason", "location", "redirects"],
      additionalProperties: false,
      properties: {
        status: nullable(
          { type: "integer", minimum: 100, maximum: 599 },
          "The HTTP status of the last response; null when none came.",
        ),
        reason: nullable({ type: "string" }, "The reason phrase, e.g. Not Found."),
        location: nullable({ type: "string" }, "The Location header of the last response, when it had one."),
        redirects: { type: "integer", minimum: 0, description: "Redirects followed (--follow)." },
      },
    },
  },
} as const;
