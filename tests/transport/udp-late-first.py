# A UDP server for send's window: it answers every datagram in uppercase, the first copy of each late (after
# sys.argv[1] seconds, longer than the client waits) and any copy after it at once, so the client's retry is answered
# first and the late reply comes after it, as on a slow network. Prints "listening PORT"; runs until killed.
import socket
import sys
import threading

delay = float(sys.argv[1])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 0))
print(f"listening {sock.getsockname()[1]}", flush=True)
seen = set()


def serve():
    while True:
        data, addr = sock.recvfrom(65535)
        if data in seen:
            sock.sendto(data.upper(), addr)
        else:
            seen.add(data)
            threading.Timer(delay, sock.sendto, (data.upper(), addr)).start()


serve()
