# Peers whose replies never hold what a check expects, each on a port of its own: "closes" reads the request, says one line and closes,
# "floods" sends 70 000 bytes and holds the connection, "holds" says one line and holds it, "udp" answers each
# datagram with one. Prints "listening closes=P floods=P holds=P udp=P". A held connection ends when the client goes,
# or after 30 s.
import socket
import threading


def serve(srv, handle):
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def closes(conn):
    # Reads the request first, so the close is a FIN and not a reset for unread data.
    with conn:
        conn.settimeout(30)
        conn.recv(4096)
        conn.sendall(b"nope\r\n")


def hold(conn, data):
    with conn:
        conn.settimeout(30)
        try:
            conn.sendall(data)
            while conn.recv(4096):
                pass
        except OSError:
            pass


def tcp(handle):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    threading.Thread(target=serve, args=(srv, handle), daemon=True).start()
    return srv.getsockname()[1]


ports = {
    "closes": tcp(closes),
    "floods": tcp(lambda c: hold(c, b"a" * 70000)),
    "holds": tcp(lambda c: hold(c, b"xx nope\r\n")),
}
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
ports["udp"] = udp.getsockname()[1]
print("listening " + " ".join(f"{k}={v}" for k, v in ports.items()), flush=True)
while True:
    _, source = udp.recvfrom(65535)
    udp.sendto(b"nope", source)
