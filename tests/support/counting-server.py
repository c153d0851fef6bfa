# An uppercase server on UDP and TCP that nobody here wrote in TypeScript, counting what it was sent:
# the figures of `upcat bench --workers` must add up to what a server saw. It prints
# "listening UDP_PORT TCP_PORT", and once its stdin ends "udp DATAGRAMS tcp CONNECTIONS BYTES SOURCES",
# SOURCES being the distinct source ports that sent to it over UDP.
import select
import socket
import sys
import threading

udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.bind(("127.0.0.1", 0))
tcp.listen(256)
print(f"listening {udp.getsockname()[1]} {tcp.getsockname()[1]}", flush=True)
lock = threading.Lock()
datagrams = 0
sources = set()
connections = 0
tcp_bytes = 0


def serve_udp():
    global datagrams
    while True:
        data, peer = udp.recvfrom(65536)
        with lock:
            datagrams += 1
            sources.add(peer[1])
        udp.sendto(data.upper(), peer)


def serve(conn):
    global tcp_bytes
    with conn:
        while True:
            try:
                chunk = conn.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            with lock:
                tcp_bytes += len(chunk)
            try:
                conn.sendall(chunk.upper())
            except OSError:
                break


def accept():
    global connections
    while True:
        conn, _ = tcp.accept()
        with lock:
            connections += 1
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


threading.Thread(target=serve_udp, daemon=True).start()
threading.Thread(target=accept, daemon=True).start()
select.select([sys.stdin], [], [], 120)
sys.stdin.read()
with lock:
    print(f"udp {datagrams} tcp {connections} {tcp_bytes} {len(sources)}", flush=True)
