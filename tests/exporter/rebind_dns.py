# A DNS server that rebinds: each A query for any name is answered in turn with argv[1] (an address the exporter
# admits) and 127.0.0.1, TTL 0; AAAA queries get no record. It also listens on TCP 127.0.0.1:argv[2], the port a
# rebound probe would reach. UDP 127.0.0.1:53, inside the test's own network namespace. Prints "ready" once bound.
import socket
import struct
import sys
import threading

ADMITTED = socket.inet_aton(sys.argv[1])
LOOPBACK = socket.inet_aton("127.0.0.1")

tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("127.0.0.1", int(sys.argv[2])))
tcp.listen(64)


def accept():
    while True:
        conn, _ = tcp.accept()
        conn.close()


threading.Thread(target=accept, daemon=True).start()

udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 53))
print("ready", flush=True)
turn = 0
while True:
    query, source = udp.recvfrom(512)
    end = 12
    while query[end] != 0:
        end += 1 + query[end]
    qtype = struct.unpack(">H", query[end + 1:end + 3])[0]
    question = query[12:end + 5]
    flags = 0x8180  # a response, recursion desired and available, NOERROR
    answers = b""
    if qtype == 1:
        address = ADMITTED if turn % 2 == 0 else LOOPBACK
        turn += 1
        answers = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 0, 4) + address
    header = query[:2] + struct.pack(">HHHHH", flags, 1, 1 if answers else 0, 0, 0)
    udp.sendto(header + question + answers, source)
