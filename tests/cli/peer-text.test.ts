// What a peer controls reaches the terminal escaped: banners, replies, HTTP reason phrases, in text and nagios output.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fromSource, run } from "../support/run.ts";

/** HOSTILE holds what a terminal would obey: a title change, a bell, a screen clear, 8-bit CSI and a bidi override. */
const HOSTILE = "\u001b]0;owned\u0007\u001b[2J\u009b31m\u202eevil";
/** HOSTILE_REASON is what of it an HTTP parser lets through in a reason phrase: Bun's refuses C0 controls there. */
const HOSTILE_REASON = "\u009b2J\u202eevil";
/** OBEYED matches any of it that survived. */
const OBEYED = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

let banner: Bun.TCPSocketListener<undefined>;
let http: Bun.TCPSocketListener<undefined>;
beforeAll(() => {
  banner = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.end(`220 ${HOSTILE}\r\n`);
      },
      data() {},
    },
  });
  // A raw HTTP peer: the reason phrase is whatever it writes.
  http = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket) {
        socket.end(`HTTP/1.1 200 O${HOSTILE_REASON}K\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok`);
      },
    },
  });
});
afterAll(() => {
  banner.stop(true);
  http.stop(true);
});

describe("a hostile banner", () => {
  test.each([[[]], [["--nagios"]]])(
    "check %j --expect 230: the reply shown escaped, nothing a terminal obeys",
    async (extra) => {
      const r = await run(fromSource, ["check", ...extra, `127.0.0.1:${banner.port}`, "--expect", "230"]);
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(OBEYED);
      expect(r.stdout).toContain("\\e]0;owned\\x07\\e[2J\\x9b31m\\u{202e}evil");
    },
  );
});

describe("a hostile HTTP reason phrase", () => {
  test("text output: the status passes and the reason is shown escaped", async () => {
    const r = await run(fromSource, ["check", `http://127.0.0.1:${http.port}/`]);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toMatch(OBEYED);
    expect(r.stdout).toContain("200 O\\x9b2J\\u{202e}evilK");
  });

  test("nagios output escapes it too", async () => {
    const r = await run(fromSource, ["check", "--nagios", `http://127.0.0.1:${http.port}/`]);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toMatch(OBEYED);
  });

  test("--json keeps the server's words as data (JSON escapes the C0 controls itself)", async () => {
    const r = await run(fromSource, ["check", "--json", `http://127.0.0.1:${http.port}/`]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).http.reason).toBe(`O${HOSTILE_REASON}K`);
  });
});
