# Through a TCP relay with --max-per-address 1 in front of an uppercase server: one connection from 127.0.0.1 is
# served, a second from it is closed at once, and one from 127.0.0.2 is served. Prints what each got.
import socket
import sys

port = int(sys.argv[1])


def connect(source):
    return socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))


held = connect("127.0.0.1")
held.sendall(b"one\n")
print(held.recv(100).decode().strip())
second = connect("127.0.0.1")
print(repr(second.recv(100)))
other = connect("127.0.0.2")
other.sendall(b"other\n")
print(other.recv(100).decode().strip())
