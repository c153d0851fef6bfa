// `upcat check --follow` run from source against the hostile redirecting peers: an https:// check sent to http:// exits
// 1 with the message, and its credentials never go out in clear text.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { fromSource, run } from "../support/run.ts";
import { headerOf, type RedirectPeers, startRedirectPeers, via } from "./redirect-peers.ts";

let peers: RedirectPeers;
beforeAll(async () => {
  peers = await startRedirectPeers();
});
afterAll(() => peers?.stop());

test("check --follow: https redirected to http exits 1 with the message, and nothing goes out over http", async () => {
  const target = `https://${peers.first}${via(`http://${peers.first}/final-cli`)}`;
  const r = await run(fromSource, [
    "check",
    "--follow",
    "--header",
    "Authorization: Bearer s3cret",
    "--header",
    "Cookie: sid=s3cret",
    target,
    "--ca",
    peers.caFile,
  ]);
  expect(r.status).toBe(1);
  expect(r.stdout + r.stderr).toContain(`redirected from https to http: HTTP 302 to http://${peers.first}/final-cli`);
  const seen = peers.arrivals().filter((a) => a.head.includes("final-cli"));
  expect(seen.map((a) => a.tls)).toEqual([true]);
  expect(headerOf(seen[0]!, "authorization")).toBe("Bearer s3cret");
});
