# A UDP target that prints each datagram it hears on a line of its own, in the order heard, and exits after N.
import socket
import sys

n = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print("ready", s.getsockname()[1], flush=True)
for _ in range(n):
    print(s.recv(100).decode(), flush=True)
