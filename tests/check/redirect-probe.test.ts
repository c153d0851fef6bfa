// httpProbe under --follow against hostile redirecting peers on loopback: which credentials reach which hop, a
// redirect from https to http, the TLS a verdict reports, and the 10-hop cap.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type HttpProbeOptions, httpProbe, MAX_REDIRECTS } from "../../src/check/http-probe.ts";
import { parseHttpTarget } from "../../src/check/http-target.ts";
import type { Header } from "../../src/check/redirect.ts";
import type { Outcome } from "../../src/check/result.ts";
import { type Arrival, headerOf, type RedirectPeers, startRedirectPeers, via } from "./redirect-peers.ts";

const SECRETS = ["authorization", "cookie", "proxy-authorization"];
const HEADERS: readonly Header[] = [
  ["Authorization", "Bearer s3cret"],
  ["Cookie", "sid=s3cret"],
  ["Proxy-Authorization", "Basic s3cret"],
  ["X-Kept", "yes"],
];

let peers: RedirectPeers;
beforeAll(async () => {
  peers = await startRedirectPeers();
});
afterAll(() => peers?.stop());

/** check follows redirects from `url` as `check --follow` with these headers and the peers' CA would. */
function check(url: string, extra: { allowDowngrade?: boolean; headers?: readonly Header[] } = {}): Promise<Outcome> {
  const opts: HttpProbeOptions = {
    timeoutMs: 5000,
    request: {
      method: "GET",
      headers: extra.headers ?? HEADERS,
      status: { text: "200-299", ranges: [[200, 299]] },
      follow: true,
      allowDowngrade: extra.allowDowngrade,
    },
    tls: { insecure: false, ca: peers.ca },
    maxReply: 64 * 1024,
  };
  return httpProbe(parseHttpTarget(url), opts);
}

/** hops are the requests whose path carries the test's tag, the final path nested in every hop's Location. */
const hops = (tag: string): Arrival[] => peers.arrivals().filter((a) => a.head.split("\r\n")[0]!.includes(tag));
const secretsIn = (a: Arrival) => SECRETS.filter((name) => headerOf(a, name) !== undefined);
const at = (tag: string, server: string, tls: boolean) =>
  hops(tag).filter((a) => `${a.host}:${a.port}` === server && a.tls === tls);

describe("check --follow", () => {
  test("a same-origin hop, relative or absolute, keeps every credential and reports the TLS it came over", async () => {
    const r = await check(`https://${peers.first}${via(via(`https://${peers.first}/final-t1`))}`);
    expect(r).toMatchObject({ state: "open", http: { status: 200, redirects: 2 } });
    expect(r.tls?.subject).toContain("upcat-first");
    const seen = at("final-t1", peers.first, true);
    expect(seen).toHaveLength(3);
    for (const a of seen) expect([secretsIn(a), headerOf(a, "x-kept")]).toEqual([SECRETS, "yes"]);
  });

  test("https→http on the same host and port fails, naming the URL, and nothing goes out over http", async () => {
    const r = await check(`https://${peers.first}${via(`http://bob:hunter2@${peers.first}/final-t2`)}`);
    expect(r).toMatchObject({ state: "error", http: { status: 302, redirects: 0 } });
    expect(r.error).toContain("redirected from https to http");
    expect(r.error).toContain(`http://bob:***@${peers.first}/final-t2`);
    expect(r.error).not.toContain("hunter2");
    expect(at("final-t2", peers.first, false)).toHaveLength(0);
    expect(at("final-t2", peers.first, true)).toHaveLength(1);
  });

  test("https→http with allowDowngrade: the hop goes out bare, and the verdict says no TLS", async () => {
    const r = await check(`https://${peers.first}${via(`http://${peers.first}/final-t3`)}`, { allowDowngrade: true });
    expect(r).toMatchObject({ state: "open", http: { status: 200, redirects: 1 } });
    expect(r.tls).toBeUndefined();
    const [plain] = at("final-t3", peers.first, false);
    expect([secretsIn(plain!), headerOf(plain!, "x-kept")]).toEqual([[], "yes"]);
  });

  test("a change of port drops the credentials, and the TLS reported is the final server's", async () => {
    const r = await check(`https://${peers.first}${via(`https://${peers.second}/final-t4`)}`);
    expect(r).toMatchObject({ state: "open", http: { redirects: 1 } });
    expect(r.tls?.subject).toContain("upcat-second");
    expect(secretsIn(at("final-t4", peers.first, true)[0]!)).toEqual(SECRETS);
    const [far] = at("final-t4", peers.second, true);
    expect([secretsIn(far!), headerOf(far!, "x-kept")]).toEqual([[], "yes"]);
  });

  test("a change of host drops the credentials, over https and over http", async () => {
    expect((await check(`https://${peers.first}${via(`https://${peers.other}/final-t5`)}`)).state).toBe("open");
    expect((await check(`http://${peers.first}${via(`http://${peers.other}/final-t6`)}`)).state).toBe("open");
    for (const [tag, tls] of [["final-t5", true] as const, ["final-t6", false] as const]) {
      expect(secretsIn(at(tag, peers.first, tls)[0]!)).toEqual(SECRETS);
      expect(secretsIn(at(tag, peers.other, tls)[0]!)).toEqual([]);
    }
  });

  test("http→https is no downgrade, but a change of scheme: no credentials, and the final hop's TLS", async () => {
    const r = await check(`http://${peers.first}${via(`https://${peers.first}/final-t7`)}`);
    expect(r).toMatchObject({ state: "open", http: { redirects: 1 } });
    expect(r.tls?.subject).toContain("upcat-first");
    expect(secretsIn(at("final-t7", peers.first, true)[0]!)).toEqual([]);
  });

  test("once a hop has left the origin, a redirect back to it does not bring the credentials back", async () => {
    const r = await check(
      `https://${peers.first}${via(`https://${peers.second}${via(`https://${peers.first}/final-t8`)}`)}`,
    );
    expect(r).toMatchObject({ state: "open", http: { redirects: 2 } });
    expect(r.tls?.subject).toContain("upcat-first");
    const back = at("final-t8", peers.first, true);
    expect(back.map(secretsIn)).toEqual([SECRETS, []]);
  });

  test("URL credentials go as Basic on the same origin only, and never where the Location has its own", async () => {
    const basic = `Basic ${btoa("alice:pw")}`;
    const near = await check(`http://alice:pw@${peers.first}${via("/final-t9")}`, { headers: [] });
    expect(near.state).toBe("open");
    expect(at("final-t9", peers.first, false).map((a) => headerOf(a, "authorization"))).toEqual([basic, basic]);
    await check(`http://alice:pw@${peers.first}${via(`http://${peers.second}/final-t10`)}`, { headers: [] });
    expect(headerOf(at("final-t10", peers.second, false)[0]!, "authorization")).toBeUndefined();
    await check(`http://alice:pw@${peers.first}${via(`http://bob:x@${peers.first}/final-t11`)}`);
    const [, last] = at("final-t11", peers.first, false);
    expect(secretsIn(last!)).toEqual([]);
  });

  test("the 10-hop cap holds, and the Location it quotes is cut", async () => {
    const loops = () => peers.arrivals().filter((a) => a.head.startsWith("GET /loop")).length;
    const before = loops();
    const r = await check(`https://${peers.first}/loop`);
    expect(r).toMatchObject({ state: "error", cause: "too_many_redirects", http: { redirects: MAX_REDIRECTS } });
    expect(r.error!.length).toBeLessThan(400);
    expect(loops() - before).toBe(MAX_REDIRECTS + 1);
  });
});
