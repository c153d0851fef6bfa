# Sends N datagrams to a UDP relay from one port, in bursts, and counts the replies that come back until 0.5 s of
# quiet. Prints the count and how long the sending took (seconds).
import socket
import sys
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", port))
started = time.monotonic()
for k in range(n):
    s.send(b"x%d\n" % k)
    if k % 25 == 24:
        time.sleep(0.005)
took = time.monotonic() - started
s.settimeout(0.5)
got = 0
try:
    while True:
        s.recv(100)
        got += 1
except socket.timeout:
    pass
print(got, round(took, 3))
