// The exporter's pure parts: the probe deadline, the module file, the target gate and the exposition text.
import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/errors.ts";
import { MAX_PROBE_MS, probeTimeoutMs } from "../../src/exporter/deadline.ts";
import { exposition } from "../../src/exporter/exposition.ts";
import { parseModules, shownModule } from "../../src/exporter/modules.ts";
import { parseTargetGate, TargetRefused } from "../../src/exporter/target-gate.ts";
import { promtoolCheck } from "./exporters.ts";

describe("probeTimeoutMs: the scrape timeout less a margin, capped by the module's --timeout", () => {
  test.each([
    // header, module's --timeout, check's default → the probe's deadline
    [null, undefined, 2000, 2000],
    [null, 5000, 2000, 5000],
    ["10", undefined, 2000, 9500],
    ["10", 3000, 2000, 3000],
    ["2.5", undefined, 2000, 2000],
    ["0.8", undefined, 2000, 400],
    ["86400", undefined, 2000, MAX_PROBE_MS],
  ] as const)("header %p, module %p, default %p → %p ms", (header, moduleMs, defaultMs, want) => {
    expect(probeTimeoutMs(header, moduleMs, defaultMs)).toBe(want);
  });

  test.each(["", "abc", "-1", "0", "1e3", " 5 x"])("header %p is the request's mistake", (header) => {
    expect(() => probeTimeoutMs(header, undefined, 2000)).toThrow(UsageError);
  });
});

describe("parseModules reads `name: options` lines with check's own line reader", () => {
  test("a module keeps its options in check's keys, built-ins included", () => {
    const modules = parseModules(
      "# modules\nredis_ping: --send 'PING\\r\\n' --expect +PONG\n\nweb: --status 200\n",
      "m",
    );
    expect(modules.get("redis_ping")!.options).toEqual({ send: "PING\\r\\n", expect: "+PONG" });
    expect(modules.get("web")!.options).toEqual({ status: "200" });
    expect([...modules.keys()]).toContain("http_2xx");
  });

  test("debug=true shows a module with its headers' values and --send hidden: they may be credentials", () => {
    const modules = parseModules(
      "api: --header 'Authorization: Bearer s3cret' --header 'X-Env: prod' --status 200\n" +
        "redis_auth: --send 'AUTH s3cret\\r\\nPING\\r\\n' --expect +PONG --tls\n",
      "m",
    );
    expect(shownModule(modules.get("api")!)).toBe(
      'api: --header "Authorization: ***" --header "X-Env: ***" --status "200"',
    );
    expect(shownModule(modules.get("redis_auth")!)).toBe('redis_auth: --send *** --expect "+PONG" --tls');
    expect(shownModule(modules.get("tcp")!)).toBe("tcp: (a TCP handshake, as nc -z)");
  });

  test.each([
    ["no colon --udp", "m:1: a line is NAME: --option value..."],
    ["x: --file list.txt", "m:1: --file cannot be given for one target"],
    ["x: --sned a", "m:1: unknown option --sned"],
    ["x: db:5432 --udp", "m:1: a module gives options only"],
    ["tcp: --udp", "m:1: tcp is a built-in module"],
    ["x: --udp\nx: --tls", "m:2: module x is given twice"],
    ["x: --send 'open", "m:1: unterminated ' quote"],
    ["web: --follow", "m:1: --follow would let a redirect take the probe where --allow-target does not admit"],
  ])("%p is refused: %p", (text, message) => {
    expect(() => parseModules(text, "m")).toThrow(message);
  });
});

describe("the target gate: loopback and link-local only when named, the rest as --allow-target says", () => {
  const admits = async (entries: string[], host: string) => {
    try {
      await parseTargetGate(entries).admit(host);
      return true;
    } catch (err) {
      if (err instanceof TargetRefused) return false;
      throw err;
    }
  };

  test.each([
    [[], "192.0.2.1", true],
    [[], "127.0.0.1", false],
    [[], "127.8.9.10", false],
    [[], "::1", false],
    [[], "169.254.169.254", false],
    [[], "fe80::1", false],
    [[], "0.0.0.0", false],
    [[], "::ffff:127.0.0.1", false],
    [["0.0.0.0/0"], "127.0.0.1", false],
    [["0.0.0.0/0"], "198.51.100.9", true],
    [["127.0.0.1"], "127.0.0.1", true],
    [["127.0.0.0/8"], "127.0.0.2", true],
    [["127.0.0.1"], "127.0.0.2", false],
    [["10.0.0.0/8"], "10.1.2.3", true],
    [["10.0.0.0/8"], "192.0.2.1", false],
    [["::1"], "::1", true],
    [["localhost"], "localhost", true],
    [["127.0.0.1"], "localhost", true],
    [["10.0.0.0/8"], "localhost", false],
  ] as const)("allow %p, target %p: %p", async (entries, host, want) => {
    expect(await admits([...entries], host)).toBe(want);
  });

  test.each([
    [["10.0.0.0/8"], "db.lan", "10.1.2.3", true],
    // A name admitted for 10/8 whose second lookup (the check's own) says loopback: rebinding, refused.
    [["10.0.0.0/8"], "db.lan", "127.0.0.1", false],
    [["10.0.0.0/8"], "db.lan", "::ffff:127.0.0.1", false],
    [["10.0.0.0/8"], "db.lan", "169.254.169.254", false],
    [[], "db.lan", "127.0.0.1", false],
    // A host named in --allow-target is trusted whatever it resolves to.
    [["db.lan"], "db.lan", "127.0.0.1", true],
    [["db.lan"], "DB.lan.", "10.9.9.9", true],
  ] as const)("allow %p: a probe of %p that reached %p is %p", (entries, host, address, want) => {
    expect(parseTargetGate([...entries]).reached(host, address)).toBe(want);
  });

  test("dns:///name has no host: the system's resolvers are the exporter's own, admitted as they are", async () => {
    expect(await parseTargetGate(["10.0.0.0/8"]).admit("")).toEqual({ addresses: [], lookupMs: 0 });
  });

  test.each(["10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/08", "1.2.3", "a b", "10.0.0.0/8/8", ""])(
    "--allow-target %p is refused",
    (entry) => {
      expect(() => parseTargetGate([entry])).toThrow(UsageError);
    },
  );
});

describe("exposition", () => {
  test("label values with quotes, backslashes, newlines and control characters pass promtool", () => {
    const text = exposition([
      {
        name: "upcat_check_info",
        help: "x",
        type: "gauge",
        samples: [{ labels: { reason: 'a "b" \\ c\nd\x1b[31m' }, value: 1 }],
      },
    ]);
    expect(text).toContain('reason="a \\"b\\" \\\\ c\\nd\x1b[31m"');
    expect(promtoolCheck(text).status).toBe(0);
  });
});
