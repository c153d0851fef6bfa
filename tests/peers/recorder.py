# A peer nobody here wrote in TypeScript: it records the exact bytes that reach it, so tests can
# compare what a user typed with what went on the wire. TCP and UDP on one port of 127.0.0.1.
# Each arrival is one line on stdout: "tcp HEX" or "udp HEX" (HEX of the bytes, empty for none).
# TCP: sends each chunk back as it comes (so a probe that waits for a reply gets one), and records
# the whole once the client half-closes or goes.
# UDP: records each datagram and sends it back. With a banner argument (hex), a TCP client is
# greeted with those bytes first, as an SMTP or SSH server greets.
import select
import socket
import sys
import threading

banner = bytes.fromhex(sys.argv[1]) if len(sys.argv) > 1 else b""

tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
for _ in range(64):
    tcp.bind(("127.0.0.1", 0))
    port = tcp.getsockname()[1]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        udp.bind(("127.0.0.1", port))
        break
    except OSError:
        udp.close()
        tcp.close()
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.listen(64)
lock = threading.Lock()


def record(proto, data):
    with lock:
        sys.stdout.write(f"{proto} {data.hex()}\n")
        sys.stdout.flush()


def serve_tcp(conn):
    with conn:
        conn.settimeout(10)
        if banner:
            conn.sendall(banner)
        chunks = []
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                conn.sendall(chunk)
        except OSError:
            pass
        record("tcp", b"".join(chunks))


def accept_loop():
    while True:
        conn, _ = tcp.accept()
        threading.Thread(target=serve_tcp, args=(conn,), daemon=True).start()


def udp_loop():
    while True:
        data, addr = udp.recvfrom(65535)
        record("udp", data)
        udp.sendto(data, addr)


threading.Thread(target=accept_loop, daemon=True).start()
threading.Thread(target=udp_loop, daemon=True).start()
print(f"listening {port}", flush=True)
# Ends when the test closes our stdin, or after two minutes at most: a peer never outlives its test.
select.select([sys.stdin], [], [], 120)
