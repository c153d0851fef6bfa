// A name with two addresses, IPv4 first, and a server on the second only: send, check and bench each try the next
// address when the first refuses, as nc does. The name is made in a mount namespace of the test's own, where
// /etc/hosts is a file of the test's (unshare and mount, as root), so the system resolver is the one that answers.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTool } from "../support/peers.ts";
import { type Command, fromSource, run } from "../support/run.ts";

const NAME = "both.upcat.test";
let inNamespace: Command;
let tcp: { port: number; stop(closeActive?: boolean): void };
let udp: { port: number; close(): void };

beforeAll(async () => {
  const hosts = join(tmpdir(), "next-address-hosts");
  writeFileSync(hosts, `127.0.0.1 localhost\n127.0.0.1 ${NAME}\n::1 ${NAME}\n`);
  const mount = `mount --bind "$0" /etc/hosts && exec "$@"`;
  inNamespace = {
    argv: [requireTool("unshare"), "--mount", "sh", "-c", mount, hosts, ...fromSource.argv],
    env: fromSource.env,
  };
  // An uppercase server on ::1 only, TCP and UDP on one port number; nothing listens on 127.0.0.1 there.
  tcp = Bun.listen({
    hostname: "::1",
    port: 0,
    socket: { data: (s, chunk) => void s.write(Buffer.from(chunk).toString("latin1").toUpperCase()) },
  });
  udp = await Bun.udpSocket({
    hostname: "::1",
    port: tcp.port,
    socket: {
      data: (s, chunk, port, address) => void s.send(Buffer.from(chunk).toString().toUpperCase(), port, address),
    },
  });
});
afterAll(() => {
  tcp.stop(true);
  udp.close();
});

test("the name resolves, in the namespace, to 127.0.0.1 and then ::1", async () => {
  const r = await run({ ...inNamespace, argv: inNamespace.argv.slice(0, 6).concat("getent", "ahosts", NAME) }, []);
  expect(r.status).toBe(0);
  expect(r.stdout).toContain("127.0.0.1");
  expect(r.stdout).toContain("::1");
});

test.each(["tcp", "udp"] as const)("send over %s reaches the server at the second address", async (transport) => {
  const r = await run(inNamespace, ["send", `${transport}://${NAME}:${tcp.port}`, "hello"], { timeoutMs: 10_000 });
  expect(r).toMatchObject({ status: 0, stdout: "HELLO\n", stderr: "" });
});

test("check passes on the second address and names it", async () => {
  const r = await run(inNamespace, ["check", "--json", `${NAME}:${tcp.port}`], { timeoutMs: 10_000 });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ state: "open", address: "::1", ok: true });
});

test.each(["tcp", "udp"] as const)("bench over %s loads the second address", async (transport) => {
  const args = ["bench", `${transport}://${NAME}:${tcp.port}`, "--duration", "300ms", "--concurrency", "2", "--json"];
  for (const workers of ["1", "2"]) {
    const r = await run(inNamespace, [...args, "--workers", workers], { timeoutMs: 20_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ address: "::1", errors: 0 });
    expect(j.replies).toBeGreaterThan(0);
  }
});

test("bench on a name where every address refuses fails with the last refusal", async () => {
  const r = await run(inNamespace, ["bench", `tcp://${NAME}:1`, "--duration", "300ms", "--json"], {
    timeoutMs: 20_000,
  });
  expect(r.status).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(/^upcat: connect tcp \[::1\]:1: connection refused/);
});
