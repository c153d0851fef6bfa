#!/usr/bin/env python3
# Hostile TCP senders for the abuse tests: COUNT connections to a port on 127.0.0.1 that write without end and never
# read, so a server that answers them has its replies back up. Reads one JSON object on stdin:
#   {"port": N, "count": N,
#    "seconds": S,   (stop writing after S seconds, whatever is left)
#    "quiet": Q,     (or once no connection has taken a byte for Q seconds: the server stopped reading them all)
#    "hold": H}      (then keep the connections open H seconds more, or until killed, which resets them)
# and prints, once writing stops, one JSON line: connections made and refused, bytes written.
import json, resource, selectors, socket, sys, time

spec = json.load(sys.stdin)
port = int(spec["port"])
count = int(spec["count"])
started = time.monotonic()
deadline = started + float(spec.get("seconds", 20))
quiet = float(spec.get("quiet", 1.5))

# One descriptor a connection, and a few more: raise the soft limit (root may raise the hard one too).
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = count + 64
if soft < want:
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, soft), max(want, hard)))
    except (ValueError, OSError):
        sys.exit(f"senders.py: {count} connections need {want} open files; the limit is {soft}/{hard}")

block = b"a" * 65536
sel = selectors.DefaultSelector()
socks = []
refused = 0

# Connect in batches, so the listener's backlog is not what refuses them.
BATCH = 100
for first in range(0, count, BATCH):
    pending = []
    for _ in range(min(BATCH, count - first)):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A small receive buffer, set before the connect: the replies stop in the server, not in our kernel.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        pending.append(s)
    wait = selectors.DefaultSelector()
    for s in pending:
        wait.register(s, selectors.EVENT_WRITE)
    left = len(pending)
    until = time.monotonic() + 5
    while left > 0 and time.monotonic() < until:
        for key, _ in wait.select(timeout=0.5):
            wait.unregister(key.fileobj)
            left -= 1
    wait.close()
    for s in pending:
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0 or s.fileno() < 0:
            refused += 1
            s.close()
            continue
        try:
            s.getpeername()
        except OSError:
            refused += 1
            s.close()
            continue
        socks.append(s)
        sel.register(s, selectors.EVENT_WRITE)

sent = 0
last_progress = time.monotonic()
while True:
    now = time.monotonic()
    if now >= deadline or now - last_progress >= quiet or not sel.get_map():
        break
    for key, _ in sel.select(timeout=0.2):
        s = key.fileobj
        try:
            n = s.send(block)
        except BlockingIOError:
            continue
        except OSError:
            # Reset by the server: that connection is gone.
            sel.unregister(s)
            continue
        sent += n
        last_progress = time.monotonic()

print(json.dumps({"connected": len(socks), "refused": refused, "sent": sent,
                  "seconds": round(time.monotonic() - started, 2)}), flush=True)
time.sleep(float(spec.get("hold", 30)))
