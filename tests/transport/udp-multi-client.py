# Clients for the batch engine's tests (udp-batch-drainer, udp-batch-mixed): sends a stream of datagrams to one port,
# each from one of several sockets, prints "sent" once all are out, then what each socket got back, as hex, in JSON.
# stdin: {"port": N, "binds": [0, 0, 1434], "stream": [[socket, hex], ...], "want": [n, ...], "timeouts": [s, ...]}
import json
import socket
import sys

spec = json.load(sys.stdin)
socks = []
for port in spec["binds"]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind(("127.0.0.1", port))
    socks.append(s)
for i, payload in spec["stream"]:
    socks[i].sendto(bytes.fromhex(payload), ("127.0.0.1", spec["port"]))
print("sent", flush=True)
out = []
for s, want, timeout in zip(socks, spec["want"], spec["timeouts"]):
    s.settimeout(timeout)
    got = []
    try:
        while len(got) < want:
            got.append(s.recv(65535).hex())
    except socket.timeout:
        pass
    out.append(got)
print(json.dumps(out))
