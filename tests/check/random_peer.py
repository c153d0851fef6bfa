# A TCP peer that answers each connection with random bytes (os.urandom, 1 to 300 of them) and closes: replies that
# are almost never UTF-8, for the reports that must keep them. It prints "listening PORT", and appends each reply it
# sent, in hex, a line each, to the file named by its argument. It never sends the UTF-8 of U+FFFD, so a U+FFFD in a
# report is one the report made up.
import os
import socket
import sys

log = open(sys.argv[1], "a", buffering=1)
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(("127.0.0.1", 0))
srv.listen(64)
print(f"listening {srv.getsockname()[1]}", flush=True)
while True:
    conn, _ = srv.accept()
    with conn:
        size = 1 + int.from_bytes(os.urandom(2), "big") % 300
        data = os.urandom(size)
        while b"\xef\xbf\xbd" in data:
            data = os.urandom(size)
        log.write(data.hex() + "\n")
        conn.sendall(data)
