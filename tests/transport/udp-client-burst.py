# A client for tests/transport/udp-textbook.test.ts: sends each burst of datagrams from one socket, then reads the
# replies to that burst (up to a timeout), and prints every reply, in the order it came, as hex in JSON.
# stdin: {"port": N, "bursts": [["68656c6c6f", ...], ...], "timeout": seconds}
import json
import socket
import sys

spec = json.load(sys.stdin)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
sock.settimeout(spec["timeout"])
out = []
for burst in spec["bursts"]:
    for payload in burst:
        sock.sendto(bytes.fromhex(payload), ("127.0.0.1", spec["port"]))
    replies = []
    try:
        while len(replies) < len(burst):
            replies.append(sock.recv(65535).hex())
    except socket.timeout:
        pass
    out.append(replies)
print(json.dumps(out))
