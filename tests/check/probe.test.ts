// One try of each kind against real servers on loopback: TCP, UDP, TLS, protocols, and the ways each fails.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { probe } from "../../src/check/probe.ts";
import { protocols } from "../../src/protocol/index.ts";
import type { Listener } from "../../src/transport/listener.ts";
import { serveProtocol } from "../../src/transport/serve.ts";
import type { Target } from "../../src/transport/target.ts";
import { freePort, fullAcceptQueue } from "../support/peers.ts";
import { waitFor } from "../support/wait.ts";
import { daysFromNow, makeCertificate, selfSigned } from "../verdicts/pki.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
const contains = (s: string) => (reply: Uint8Array) => dec(reply).includes(s);
const tcp = (port: number, host = "127.0.0.1"): Target => ({ transport: "tcp", host, port });
const udp = (port: number, host = "127.0.0.1"): Target => ({ transport: "udp", host, port });

const stops: (() => void)[] = [];
let upperPort = 0;
let chargenPort = 0;
let banner = 0;
let silent = 0;
let silentUdp = 0;
let tlsPort = 0;
let pki: { dir: string; ca: string };

beforeAll(async () => {
  const up = await serveProtocol(protocols.upper!, ["udp", "tcp"], { host: "::", port: 0 });
  const cg = await serveProtocol(protocols.chargen!, ["tcp"], { host: "127.0.0.1", port: 0 });
  upperPort = up[0]!.port;
  chargenPort = cg[0]!.port;
  stops.push(...[...up, ...cg].map((l: Listener) => () => l.stop()));
  const b = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: { open: (s) => void s.write("220 mail.example ESMTP\r\n"), data() {} },
  });
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const u = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  [banner, silent, silentUdp] = [b.port, s.port, u.port];
  stops.push(
    () => b.stop(true),
    () => s.stop(true),
    () => u.close(),
  );
  const dir = mkdtempSync(join(tmpdir(), "upcat-pki-"));
  const { cert, key } = selfSigned(dir, "localhost");
  pki = { dir, ca: await Bun.file(cert).text() };
  const t = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: Bun.file(cert), key: Bun.file(key) },
    socket: { open: (sock) => void sock.write("hello over tls\n"), data() {} },
  });
  tlsPort = t.port;
  stops.push(() => t.stop(true));
});
afterAll(() => {
  stops.forEach((stop) => stop());
  rmSync(pki.dir, { recursive: true, force: true });
});

describe("tcp", () => {
  test("an open port: the handshake is the check, no reply read", async () => {
    const o = await probe(tcp(upperPort), { timeoutMs: 1000 });
    expect(o).toMatchObject({ state: "open", address: "127.0.0.1" });
    expect(o.reply).toBeUndefined();
    expect(o.latencyMs).toBeGreaterThan(0);
  });

  test("a closed port is closed, at once", async () => {
    const o = await probe(tcp(await freePort()), { timeoutMs: 5000 });
    expect(o).toMatchObject({ state: "closed", error: "connection refused" });
    expect(o.latencyMs).toBeLessThan(1000);
  });

  test("IPv6 loopback", async () => {
    expect(await probe(tcp(upperPort, "::1"), { timeoutMs: 1000 })).toMatchObject({ state: "open", address: "::1" });
  });

  test("a name resolves and the address is reported", async () => {
    expect(await probe(tcp(upperPort, "localhost"), { timeoutMs: 1000 })).toMatchObject({ state: "open" });
  });

  test("a banner that speaks first, as SMTP: --expect 220 matches", async () => {
    const o = await probe(tcp(banner), { timeoutMs: 1000, wanted: contains("220") });
    expect(o.state).toBe("open");
    expect(dec(o.reply)).toBe("220 mail.example ESMTP\r\n");
  });

  test("a banner that does not match: mismatch after the read timeout, the reply kept", async () => {
    const t0 = performance.now();
    const o = await probe(tcp(banner), { timeoutMs: 300, wanted: contains("+OK") });
    expect(o).toMatchObject({ state: "mismatch", error: "the reply did not match within 300ms" });
    expect(dec(o.reply)).toStartWith("220");
    expect(performance.now() - t0).toBeLessThan(300 + 1000);
  });

  test("send then expect: the upper server answers the probe", async () => {
    const o = await probe(tcp(upperPort), { timeoutMs: 1000, send: enc("ping\r\n"), wanted: contains("PING\r\n") });
    expect(o).toMatchObject({ state: "open" });
    expect(dec(o.reply)).toBe("PING\r\n");
  });

  test("a server that accepts and never answers: timeout, not hang", async () => {
    const t0 = performance.now();
    const o = await probe(tcp(silent), { timeoutMs: 300, send: enc("hi"), wanted: contains("x") });
    expect(o).toMatchObject({ state: "timeout", error: "no reply within 300ms" });
    expect(performance.now() - t0).toBeLessThan(300 + 1000);
  });

  test("a server that closes without a word: mismatch, saying so", async () => {
    const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (s) => void s.end(), data() {} } });
    try {
      const o = await probe(tcp(l.port), { timeoutMs: 1000, wanted: contains("x") });
      expect(o.state).toMatch(/mismatch|error/);
      expect(o.error).toMatch(/closed by peer|reset/);
    } finally {
      l.stop(true);
    }
  });

  test("a full accept queue (SYNs dropped): the connect times out on time", async () => {
    const queue = await fullAcceptQueue();
    try {
      const t0 = performance.now();
      const o = await probe(tcp(queue.port), { timeoutMs: 400 });
      expect(o).toMatchObject({ state: "timeout", error: "no connection within 400ms" });
      expect(performance.now() - t0).toBeLessThan(400 + 1000);
    } finally {
      queue.stop();
    }
  });
});

describe("udp", () => {
  test("a server that answers: open, with its reply", async () => {
    const o = await probe(udp(upperPort), { timeoutMs: 1000, send: enc("abc") });
    expect(o).toMatchObject({ state: "open" });
    expect(dec(o.reply)).toBe("ABC");
  });

  test("nothing bound: the ICMP port unreachable makes it closed at once", async () => {
    const t0 = performance.now();
    const o = await probe(udp(await freePort("udp")), { timeoutMs: 5000 });
    expect(o.state).toBe("closed");
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  test("bound but silent: no reply (open or filtered) after the timeout", async () => {
    const o = await probe(udp(silentUdp), { timeoutMs: 300 });
    expect(o).toMatchObject({ state: "no_reply", error: "no reply within 300ms" });
  });

  test("--expect on a UDP reply: a wrong reply is a mismatch", async () => {
    const o = await probe(udp(upperPort), { timeoutMs: 1000, send: enc("abc"), wanted: contains("xyz") });
    expect(o).toMatchObject({ state: "mismatch" });
    expect(dec(o.reply)).toBe("ABC");
  });

  test("IPv6 loopback", async () => {
    expect(await probe(udp(upperPort, "::1"), { timeoutMs: 1000, send: enc("v6") })).toMatchObject({
      state: "open",
      address: "::1",
    });
  });
});

describe("--protocol", () => {
  test.each(["udp", "tcp"] as const)("upper over %s: the reply is the probe in uppercase", async (transport) => {
    const o = await probe(
      { transport, host: "127.0.0.1", port: upperPort },
      { timeoutMs: 1000, protocol: protocols.upper },
    );
    expect(o.state).toBe("open");
    expect(dec(o.reply)).toBe("UPCAT CHECK\n");
  });

  test("upper spoken to a server that is not upper (chargen): mismatch, saying why", async () => {
    const o = await probe(tcp(chargenPort), { timeoutMs: 1000, protocol: protocols.upper });
    expect(o.state).toBe("mismatch");
    expect(o.error).toMatch(/^not a upper reply: /);
  });

  test("chargen: a sample of the pattern is read and verified, then the check ends", async () => {
    const o = await probe(tcp(chargenPort), { timeoutMs: 1000, protocol: protocols.chargen });
    expect(o.state).toBe("open");
    expect(o.reply!.length).toBe(512);
  });

  test("a protocol on a closed port is closed", async () => {
    expect((await probe(tcp(await freePort()), { timeoutMs: 1000, protocol: protocols.echo })).state).toBe("closed");
  });
});

describe("tls", () => {
  test("trusted through --ca: open, with the subject, expiry and TLS version", async () => {
    const o = await probe(tcp(tlsPort, "localhost"), { timeoutMs: 2000, tls: { ca: pki.ca, insecure: false } });
    expect(o.state).toBe("open");
    expect(o.tls).toMatchObject({
      subject: "CN=localhost",
      issuer: "CN=localhost",
      authorized: true,
      protocol: expect.stringMatching(/^TLSv1\.[23]$/),
    });
    expect(o.tls!.days_left).toBeOneOf([9, 10]);
    expect(Date.parse(o.tls!.valid_to!)).toBeGreaterThan(Date.now());
  });

  test("self-signed and not trusted: error naming why; --insecure passes it and still reports it", async () => {
    const bad = await probe(tcp(tlsPort), { timeoutMs: 2000, tls: { insecure: false } });
    expect(bad.state).toBe("error");
    expect(bad.error).toMatch(/^certificate not trusted: self.signed/);
    expect(bad.tls).toMatchObject({ subject: "CN=localhost", authorized: false });
    const ok = await probe(tcp(tlsPort), { timeoutMs: 2000, tls: { insecure: true } });
    expect(ok).toMatchObject({ state: "open", tls: { authorized: false } });
  });

  test("a certificate for another name fails even with its CA trusted", async () => {
    const other = selfSigned(pki.dir, "other.example");
    const l = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: Bun.file(other.cert), key: Bun.file(other.key) },
      socket: { data() {} },
    });
    try {
      const o = await probe(tcp(l.port, "localhost"), {
        timeoutMs: 2000,
        tls: { ca: await Bun.file(other.cert).text(), insecure: false },
      });
      expect(o.state).toBe("error");
      expect(o.error).toMatch(/does not match/);
      expect(o.cause).toBe("cert_untrusted");
    } finally {
      l.stop(true);
    }
  });

  test(
    "--cert-days WARN,CRIT as check_tcp -D: at most WARN days left is a warning, at most CRIT critical, more " +
      "passes",
    async () => {
      const withDays = async (warning: number, critical: number) =>
        probe(tcp(tlsPort, "localhost"), {
          timeoutMs: 2000,
          tls: { ca: pki.ca, insecure: false, certDays: { warning, critical } },
        });
      const first = await withDays(30, 0);
      const left = first.tls!.days_left!;
      expect(left).toBeOneOf([9, 10]);
      expect(first).toMatchObject({ state: "error", cause: "cert_warning" });
      expect(first.error).toMatch(
        new RegExp(`^certificate expires in ${left} days \\(.*\\): 30 or fewer fails \\(--cert-days 30\\)$`),
      );
      // days_left <= N warns, as check_tcp's -D does: N equal to the days left is not enough.
      expect(await withDays(left, 0)).toMatchObject({ state: "error", cause: "cert_warning" });
      expect((await withDays(left - 1, 0)).state).toBe("open");
      expect(await withDays(30, left)).toMatchObject({ state: "error", cause: "cert_critical" });
      expect((await withDays(30, left - 1)).cause).toBe("cert_warning");
    },
  );

  test(
    "an expired certificate: not trusted without --insecure, and expired under --cert-days even with " + "it",
    async () => {
      const old = makeCertificate(pki.dir, "expired", daysFromNow(-30), daysFromNow(-2));
      const l = Bun.listen({
        hostname: "127.0.0.1",
        port: 0,
        tls: { cert: Bun.file(old.cert), key: Bun.file(old.key) },
        socket: { data() {} },
      });
      try {
        const ca = await Bun.file(old.cert).text();
        const strict = await probe(tcp(l.port), { timeoutMs: 2000, tls: { ca, insecure: false } });
        expect(strict).toMatchObject({ state: "error", cause: "cert_expired" });
        expect(strict.error).toMatch(/^certificate expired on 20\d\d-/);
        const insecure = await probe(tcp(l.port), {
          timeoutMs: 2000,
          tls: { insecure: true, certDays: { warning: 0, critical: 0 } },
        });
        expect(insecure).toMatchObject({ state: "error", cause: "cert_expired" });
        expect(insecure.tls!.days_left).toBeLessThanOrEqual(0);
      } finally {
        l.stop(true);
      }
    },
  );

  test.each([false, true])(
    "TLS to a plain-text server that answers (insecure %p): no TLS, a clear failure, never open",
    async (insecure) => {
      const o = await probe(tcp(banner), {
        timeoutMs: 2000,
        tls: { insecure, certDays: { warning: 14, critical: 0 } },
      });
      expect(o).toMatchObject({ state: "error", cause: "not_tls" });
      expect(o.error).toMatch(/^TLS handshake failed: .* \(does this port speak TLS\?\)$/);
      expect(o.tls).toBeUndefined();
      expect(JSON.stringify(o)).not.toContain("NaN");
      // The upper server sends the ClientHello back uppercased: its random bytes decide whether that
      // reads as a bad record at once or as the start of a long one; either way no TLS, never open.
      const upper = await probe(tcp(upperPort), { timeoutMs: 500, tls: { insecure } });
      expect(upper.state).toBeOneOf(["error", "timeout"]);
      expect(upper.cause).toBeOneOf(["not_tls", "timeout"]);
    },
  );

  test("TLS to a server that accepts and closes at once: a failure during the handshake, never open", async () => {
    const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (sock) => void sock.end(), data() {} } });
    try {
      const o = await probe(tcp(l.port), { timeoutMs: 2000, tls: { insecure: true } });
      expect(o.state).toBe("error");
      expect(o.cause).toBeOneOf(["not_tls", "reset"]);
    } finally {
      l.stop(true);
    }
  });

  test("--expect over TLS reads the decrypted reply", async () => {
    const o = await probe(tcp(tlsPort, "localhost"), {
      timeoutMs: 2000,
      tls: { ca: pki.ca, insecure: false },
      wanted: contains("hello over tls"),
    });
    expect(o.state).toBe("open");
    expect(dec(o.reply)).toBe("hello over tls\n");
  });

  test("TLS to a plain TCP server: no handshake, an error or timeout, on time", async () => {
    const t0 = performance.now();
    const o = await probe(tcp(silent), { timeoutMs: 400, tls: { insecure: true } });
    expect(o.state).toBe("timeout");
    expect(o.error).toBe("no TLS handshake within 400ms");
    expect(performance.now() - t0).toBeLessThan(400 + 1000);
  });
});

describe("a bare port check (nothing sent, no reply wanted): the handshake, loopback or not", () => {
  test("open and closed (refused) on 127.0.0.1, ::1 and ::ffff:127.0.0.1", async () => {
    const closed = await freePort();
    for (const host of ["127.0.0.1", "::1", "::ffff:127.0.0.1"]) {
      const open = await probe(tcp(upperPort, host), { timeoutMs: 1000 });
      expect([host, open.state, open.address]).toEqual([host, "open", host]);
      const shut = await probe(tcp(closed, host), { timeoutMs: 1000 });
      expect([host, shut.state, shut.cause, shut.error, shut.address]).toEqual([
        host,
        "closed",
        "refused",
        "connection refused",
        host,
      ]);
    }
  });

  test(
    "each 127.0.0.0/8 address is dialled as written: open where a listener has it, refused one address " + "over",
    async () => {
      for (const address of ["127.0.0.2", "127.1.2.3", "127.254.0.9"]) {
        const l = Bun.listen({ hostname: address, port: 0, socket: { data() {} } });
        try {
          const next = address.replace(/\d+$/, (d) => String(Number(d) + 1));
          expect([address, (await probe(tcp(l.port, address), { timeoutMs: 1000 })).state]).toEqual([address, "open"]);
          expect([next, (await probe(tcp(l.port, next), { timeoutMs: 1000 })).state]).toEqual([next, "closed"]);
        } finally {
          l.stop(true);
        }
      }
    },
  );

  test("an empty probe is no probe: the handshake is the check, as without --send", async () => {
    expect((await probe(tcp(upperPort), { timeoutMs: 1000, send: new Uint8Array(0) })).state).toBe("open");
  });

  test("the listener sees the connection and then its polite end (a FIN, as nc -z leaves it)", async () => {
    const seen: string[] = [];
    const l = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { open: () => void seen.push("open"), data() {}, end: () => void seen.push("end"), close() {} },
    });
    try {
      expect((await probe(tcp(l.port), { timeoutMs: 1000 })).state).toBe("open");
      await waitFor("the listener to see the FIN", () => seen.length >= 2);
      expect(seen).toEqual(["open", "end"]);
    } finally {
      l.stop(true);
    }
  });
});
