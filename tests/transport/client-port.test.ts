// upcat's UDP clients never send from a port upcat's servers refuse. Jenkins' 33848 is a refused service port
// (reflection.ts) inside Linux's ephemeral range, so a socket the kernel bound there got no reply through every retry:
// a CI run once failed on a relay session that had it. Here a network namespace of the test's narrows the ephemeral
// range to begin at 33848, so the kernel hands that port out often, and every client must still be answered.
import { describe, expect, test } from "bun:test";
import { requireTool } from "../support/peers.ts";
import { fromSource, run } from "../support/run.ts";
import { UDP_ENGINES } from "./udp-engines.ts";

/**
 * NAMESPACE runs, in a network namespace whose ephemeral ports are $RANGE, `upcat serve --udp` on 127.0.0.1:40000 and
 * a relay to it on 127.0.0.1:40001, then the script $SCENARIO with $UPCAT set; what it prints is the test's.
 */
const NAMESPACE = `set -e
ip link set lo up
echo "$RANGE" > /proc/sys/net/ipv4/ip_local_port_range
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$dir"' EXIT
UPCAT="$*"
ready() { for _ in $(seq 200); do grep -q "$2" "$dir/$1" && return; sleep 0.05; done; echo "$1 did not start"; exit 9; }
$UPCAT serve --udp --host 127.0.0.1 --port 40000 2>"$dir/serve" & ready serve serving
$UPCAT relay udp://127.0.0.1:40001 udp://127.0.0.1:40000 2>"$dir/relay" & ready relay relaying
set +e
eval "$SCENARIO"`;

/** inNamespace runs NAMESPACE with upcat from source as its arguments, and collects what it printed. */
function inNamespace(range: string, scenario: string, env: Record<string, string> = {}) {
  requireTool("unshare");
  const namespace = { argv: ["unshare", "--net", "--", "bash", "-c", NAMESPACE, "namespace"], env: fromSource.env };
  return run(namespace, fromSource.argv, { env: { RANGE: range, SCENARIO: scenario, ...env }, timeoutMs: 30_000 });
}

const lines = (n: number, word: string) => Array.from({ length: n }, (_, i) => `${word} ${i + 1}\n`).join("");

describe("UDP clients never send from a port upcat's servers refuse (33848, in Linux's ephemeral range)", () => {
  test("send and check, one socket each, with 33848 one of the two ports the kernel may give", async () => {
    // Without the fix, each got the refused port one time in two: 12 in a row all answered is chance 1 in 4096.
    const scenario = `for i in $(seq 8); do
  $UPCAT send --udp --timeout 300ms --retries 1 127.0.0.1:40000 "hello $i"
done
for i in $(seq 4); do
  $UPCAT check --timeout 600ms udp://127.0.0.1:40000 --send "x$i" --expect "X$i" --quiet || echo "check $i: $?"
done`;
    const r = await inNamespace("33848 33849", scenario);
    expect(r).toMatchObject({ status: 0, stderr: "" });
    expect(r.stdout).toBe(lines(8, "HELLO"));
  }, 40_000);

  test("bench's sockets, with 33848 one of the two ports the kernel may give", async () => {
    const scenario = `for i in $(seq 6); do
  $UPCAT bench udp://127.0.0.1:40000 --duration 200ms --concurrency 1 --timeout 100ms --json |
    grep -o '"replies":[0-9]*'
done`;
    const r = await inNamespace("33848 33849", scenario);
    expect(r).toMatchObject({ status: 0, stderr: "" });
    const replies = r.stdout
      .trim()
      .split("\n")
      .map((l) => Number(l.split(":")[1]));
    expect(replies).toHaveLength(6);
    for (const n of replies) expect(n).toBeGreaterThan(0);
  }, 40_000);

  for (const engine of UDP_ENGINES) {
    test(`a piped send's 48 sockets, from 49 ports that begin at 33848 (${engine} engine)`, async () => {
      const r = await inNamespace(
        "33848 33896",
        "seq 300 | sed 's/^/line /' | $UPCAT send --udp --retries 2 127.0.0.1:40000",
        {
          UPCAT_UDP_ENGINE: engine,
        },
      );
      expect(r).toMatchObject({ status: 0, stderr: "" });
      expect(r.stdout).toBe(lines(300, "LINE"));
    }, 40_000);
  }

  test("a relay's 48 sessions, from 49 ports that begin at 33848, for clients on ports outside the range", async () => {
    // The clients are Python's, bound to 41000-41047, so that only the relay's sockets come from the narrow range.
    const clients = `import socket
for k in range(48):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 41000 + k))
    s.settimeout(0.3)
    for _ in range(3):
        s.sendto(b"line %d" % k, ("127.0.0.1", 40001))
        try:
            print(s.recv(100).decode())
            break
        except socket.timeout:
            pass
    else:
        print("no reply from port %d" % (41000 + k))`;
    requireTool("python3");
    const r = await inNamespace("33848 33896", `python3 -c '${clients}'`);
    expect(r).toMatchObject({ status: 0, stderr: "" });
    expect(r.stdout).toBe(Array.from({ length: 48 }, (_, k) => `LINE ${k}\n`).join(""));
  }, 40_000);
});
