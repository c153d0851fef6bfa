# A small HTTP server for upcat check's tests: chosen statuses, slow headers and bodies, redirects, and what it was sent.
#   /status/NNN      answers NNN with the body "status NNN"
#   /redirect/N      302 to /redirect/N-1; /redirect/0 answers 200 "arrived"
#   /see-other       303 to /echo (a POST becomes a GET)
#   /loop            302 to itself, for ever
#   /near, /away     302 to /echo on this host, or on "localhost" (another host, the same server)
#   /to-ftp          302 to an ftp:// URL
#   /slow-headers    sleeps 3 s before the status line
#   /slow-body       the status at once, then "tick\n" every 100 ms for 3 s, then "done\n"
#   /echo            200 with the method, the request headers and the body, as text
#   anything else    200 "hello from http_peer"
# It listens on 127.0.0.1 (or the address in argv[1]) on a free port and prints "listening PORT" once ready.
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        data = body.encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        path = self.path
        if path.startswith("/status/"):
            code = int(path[len("/status/"):])
            return self.answer(code, f"status {code}\n")
        if path.startswith("/redirect/"):
            n = int(path[len("/redirect/"):])
            if n == 0:
                return self.answer(200, "arrived\n")
            return self.answer(302, "moved\n", [("Location", f"/redirect/{n - 1}")])
        if path == "/see-other":
            return self.answer(303, "see other\n", [("Location", "/echo")])
        if path == "/near":
            return self.answer(302, "near\n", [("Location", "/echo")])
        if path == "/away":
            return self.answer(302, "away\n", [("Location", f"http://localhost:{self.server.server_address[1]}/echo")])
        if path == "/to-ftp":
            return self.answer(302, "elsewhere\n", [("Location", "ftp://127.0.0.1/file")])
        if path == "/loop":
            return self.answer(302, "again\n", [("Location", "/loop")])
        if path == "/slow-headers":
            time.sleep(3)
            return self.answer(200, "late\n")
        if path == "/slow-body":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                for _ in range(30):
                    self.wfile.write(b"tick\n")
                    self.wfile.flush()
                    time.sleep(0.1)
                self.wfile.write(b"done\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        if path == "/echo":
            lines = [f"method {self.command}"] + [f"{k.lower()}: {v}" for k, v in self.headers.items()] + [f"body {body}"]
            return self.answer(200, "\n".join(lines) + "\n")
        return self.answer(200, "hello from http_peer\n")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = handle_any


host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
ThreadingHTTPServer.daemon_threads = True
if ":" in host:
    ThreadingHTTPServer.address_family = socket.AF_INET6
server = ThreadingHTTPServer((host, 0), Handler)
print(f"listening {server.server_address[1]}", flush=True)
server.serve_forever()
