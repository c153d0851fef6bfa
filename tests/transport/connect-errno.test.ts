// Asking the kernel why a connect failed, through libc: refused and connected on loopback, IPv4 and IPv6 (the
// namespaces in tests/verdicts cover unreachable).
import { afterAll, expect, test } from "bun:test";
import { connectErrno } from "../../src/transport/connect-errno.ts";
import { freePort } from "../support/peers.ts";

const open4 = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
const open6 = Bun.listen({ hostname: "::1", port: 0, socket: { data() {} } });
afterAll(() => {
  open4.stop(true);
  open6.stop(true);
});

test("a closed port is ECONNREFUSED, an open one connects, on 127.0.0.1 and ::1", async () => {
  const closed = await freePort();
  expect(await connectErrno("127.0.0.1", closed, 1000)).toBe("ECONNREFUSED");
  expect(await connectErrno("127.0.0.1", open4.port, 1000)).toBe("connected");
  expect(await connectErrno("::1", open6.port, 1000)).toBe("connected");
  expect(await connectErrno("::1", closed, 1000)).toBe("ECONNREFUSED");
  expect(await connectErrno("::ffff:127.0.0.1", open4.port, 1000)).toBe("connected");
});

test("what it cannot dial (a name, a scoped address) is undefined: the refusal stands", async () => {
  expect(await connectErrno("localhost", 1, 100)).toBeUndefined();
  expect(await connectErrno("fe80::1%lo", 1, 100)).toBeUndefined();
});
