# A hostile HTTP(S) peer for upcat check --follow's tests: it redirects wherever it is told and writes down the raw
# head of every request that reaches it, so a test can see which headers crossed which hop.
#   python3 redirect_peer.py LOG CERT KEY HOST...
# One listener on a free port per HOST; each port speaks TLS (with CERT and KEY) or plain HTTP, judged by the first
# byte of each connection, so https://h:P and http://h:P are the same host and port under two schemes.
#   /to/NNN?URL   answers NNN with Location URL (percent-decoded once: nest a chain by encoding the next hop)
#   /loop         302 to /loop?xxx... (3000 characters): a Location too long to quote whole, for ever
#   anything else 200 "arrived PATH"
# Every request head is appended to LOG as one JSON line {"host", "port", "tls", "head"}.
# It prints "listening HOST PORT" per listener once all listen. Bounded: it exits after 60 s or 500 connections, and
# a connection that says nothing for 5 s is dropped.
import json
import os
import socket
import ssl
import sys
import threading
import urllib.parse

LOG, CERT, KEY, HOSTS = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
MAX_HEAD = 64 * 1024
lock = threading.Lock()
served = [0]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(CERT, KEY)


def answer(path):
    if path.startswith("/to/"):
        code, _, where = path[len("/to/"):].partition("?")
        return int(code), urllib.parse.unquote(where), "moved\n"
    if path.startswith("/loop"):
        return 302, "/loop?" + "x" * 3000, "again\n"
    return 200, None, f"arrived {path}\n"


def serve(conn, host, port):
    conn.settimeout(5)
    tls = conn.recv(1, socket.MSG_PEEK) == b"\x16"
    if tls:
        conn = context.wrap_socket(conn, server_side=True)
    head = b""
    while b"\r\n\r\n" not in head and len(head) < MAX_HEAD:
        chunk = conn.recv(4096)
        if not chunk:
            break
        head += chunk
    if b"\r\n\r\n" not in head:
        # A bare handshake (upcat grades the certificate on a connection of its own) or a peer that gave up.
        return
    text = head.split(b"\r\n\r\n")[0].decode("latin-1")
    with lock, open(LOG, "a") as log:
        log.write(json.dumps({"host": host, "port": port, "tls": tls, "head": text}) + "\n")
    path = text.split(" ")[1] if " " in text else "/"
    code, location, body = answer(path)
    lines = [f"HTTP/1.1 {code} Hop", f"Content-Length: {len(body)}", "Connection: close"]
    if location is not None:
        lines.append(f"Location: {location}")
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n" + body).encode())


def handle(conn, host, port):
    try:
        serve(conn, host, port)
    except (OSError, ssl.SSLError, ValueError):
        pass
    finally:
        conn.close()


def accept(listener, host, port):
    while True:
        conn, _ = listener.accept()
        with lock:
            served[0] += 1
            if served[0] > 500:
                os._exit(0)
        threading.Thread(target=handle, args=(conn, host, port), daemon=True).start()


listeners = []
for host in HOSTS:
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 0))
    s.listen(64)
    listeners.append((s, host, s.getsockname()[1]))
for s, host, port in listeners:
    threading.Thread(target=accept, args=(s, host, port), daemon=True).start()
    print(f"listening {host} {port}", flush=True)
threading.Timer(60, lambda: os._exit(0)).start()
threading.Event().wait()
