# A TCP uppercase server nobody here wrote in TypeScript, that counts the connections it was given:
# the piped send must stream every line on one. It prints "listening PORT", and "connections N"
# when its stdin ends.
import select
import socket
import sys
import threading

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(("127.0.0.1", 0))
srv.listen(64)
print(f"listening {srv.getsockname()[1]}", flush=True)
connections = 0


def serve(conn):
    with conn:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            conn.sendall(chunk.upper())


def accept():
    global connections
    while True:
        conn, _ = srv.accept()
        connections += 1
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


threading.Thread(target=accept, daemon=True).start()
select.select([sys.stdin], [], [], 120)
print(f"connections {connections}", flush=True)
