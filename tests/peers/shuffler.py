# A UDP server nobody here wrote in TypeScript, for the piped send: it answers each datagram in
# uppercase, but not in order (odd-numbered datagrams wait 150 ms, so later ones overtake them) and
# not always (the first copy of a datagram that says "drop me" gets no answer, so only a retry does).
# It prints "listening PORT", then one line "got N" at the end of stdin: the datagrams it received.
import select
import socket
import sys
import threading

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 0))
print(f"listening {sock.getsockname()[1]}", flush=True)
count = 0
dropped = set()


def later(data, addr):
    sock.sendto(data.upper(), addr)


def serve():
    global count
    while True:
        data, addr = sock.recvfrom(65535)
        count += 1
        if b"drop me" in data and data not in dropped:
            dropped.add(data)
            continue
        if count % 2:
            threading.Timer(0.15, later, (data, addr)).start()
        else:
            sock.sendto(data.upper(), addr)


threading.Thread(target=serve, daemon=True).start()
select.select([sys.stdin], [], [], 120)
print(f"got {count}", flush=True)
