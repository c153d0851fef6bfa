// tests/support/counting-server.py, an uppercase server nobody here wrote in TypeScript, counting what it was sent:
// the figures of `upcat bench` must add up to what a server saw.
const COUNTER = new URL("./counting-server.py", import.meta.url).pathname;

/** Counting is counting-server.py running: its ports, and what it saw once told to stop. */
export interface Counting {
  udp: number;
  tcp: number;
  counts(): Promise<{ datagrams: number; connections: number; bytes: number; sources: number }>;
}

/** countingServer starts one; its process goes into `started`, for the test file to kill after each test. */
export async function countingServer(started: Bun.Subprocess[]): Promise<Counting> {
  const proc = Bun.spawn(["python3", COUNTER], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  started.push(proc);
  const reader = proc.stdout.getReader();
  let text = "";
  const line = async () => {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`counting server ended: ${text}`);
      text += new TextDecoder().decode(value);
    }
    const [first] = text.split("\n");
    text = text.slice(first!.length + 1);
    return first!;
  };
  const [, udp, tcp] = (await line()).split(" ").map(Number);
  return {
    udp: udp!,
    tcp: tcp!,
    async counts() {
      proc.stdin.end();
      const [, datagrams, , connections, bytes, sources] = (await line()).split(" ");
      return {
        datagrams: Number(datagrams),
        connections: Number(connections),
        bytes: Number(bytes),
        sources: Number(sources),
      };
    },
  };
}
