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

test("check --follow --allow-downgrade: the http answer passes, no tls, the credentials kept back", async () => {
  const target = `https://${peers.first}${via(`http://${peers.first}/final-allowed`)}`;
  const args = ["--follow", "--header", "Authorization: Bearer s3cret", target, "--ca", peers.caFile];
  const text = await run(fromSource, ["check", "--allow-downgrade", ...args]);
  expect(text.status).toBe(0);
  expect(text.stdout).not.toContain("tls");
  const json = await run(fromSource, ["check", "--json", "--allow-downgrade", ...args]);
  expect(json.status).toBe(0);
  const record = JSON.parse(json.stdout);
  expect(record.ok).toBe(true);
  expect(record.tls).toBeUndefined();
  const plain = peers.arrivals().filter((a) => a.head.includes("final-allowed") && !a.tls);
  expect(plain.length).toBe(2);
  for (const arrival of plain) expect(headerOf(arrival, "authorization")).toBeUndefined();
  // In a per-target line too, and never without --follow.
  const line = await run(fromSource, ["check", `${target} --follow --allow-downgrade --ca ${peers.caFile}`]);
  expect(line.status).toBe(0);
  const bare = await run(fromSource, ["check", "--allow-downgrade", target]);
  expect(bare).toMatchObject({ status: 2, stderr: "upcat: --allow-downgrade is for --follow\n" });
});
