# A release folder over HTTP, as python3 -m http.server serves it, with faults on purpose for upcat upgrade's tests.
#
#   python3 upgrade-server.py DIR     prints the port it listens on (127.0.0.1), then serves DIR
#
# /fault/KIND/PATH serves DIR/PATH, and when PATH's last part is an upcat-* asset, with the fault KIND:
#   truncate  says the whole Content-Length, sends half, closes
#   stall     sends the headers and 64 KiB, then nothing for a minute
#   corrupt   flips one byte in the middle
#   endless   sends no Content-Length and 64 KiB chunks for as long as the client reads (at most 1 GiB, 20 s)
import functools
import http.server
import os
import sys
import time


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        parts = self.path.split("/")
        if len(parts) > 3 and parts[1] == "fault" and parts[-1].startswith("upcat-"):
            return self.fault(parts[2], "/".join(parts[3:]))
        if len(parts) > 3 and parts[1] == "fault":
            self.path = "/" + "/".join(parts[3:])
        return super().do_GET()

    def endless(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        self.close_connection = True
        chunk = b"a" * 65536
        until = time.monotonic() + 20
        try:
            for _ in range(16384):
                if time.monotonic() > until:
                    return
                self.wfile.write(chunk)
        except OSError:
            pass

    def fault(self, kind, rest):
        path = os.path.join(self.directory, rest)
        if not os.path.isfile(path):
            return self.send_error(404)
        with open(path, "rb") as f:
            data = bytearray(f.read())
        if kind == "corrupt":
            data[len(data) // 2] ^= 0xFF
        if kind == "endless":
            return self.endless()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if kind == "truncate":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if kind == "stall":
            self.wfile.write(data[:65536])
            self.wfile.flush()
            time.sleep(60)
            return
        self.wfile.write(data)


def main():
    handler = functools.partial(Handler, directory=sys.argv[1])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


main()
