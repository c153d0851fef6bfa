"""A DNS peer no real server is on demand, for upcat's dns:// check (issue 27). UDP and TCP on one loopback port.

Modes (argv[1]); every answer is one A record 192.0.2.99 for the question asked:
  tc       UDP replies are empty with TC=1; TCP answers.
  hostile  per UDP query: a forged answer (6.6.6.6) from another port, a reply with a wrong ID, one for another
           name, then the right answer. TCP answers.
  wrongid  UDP replies only ever carry a wrong ID.
  loop     the answer's owner name is a compression pointer to itself.
  echo     the query comes back as sent.
Prints "ready PORT" once both sockets are bound.
"""
import socket
import struct
import sys
import threading

MODE = sys.argv[1]


def question_end(q):
    at = 12
    while q[at] != 0:
        at += 1 + q[at]
    return at + 5


def answer(q, ident=None, name=None, address=b"\xc0\x00\x02\x63", tc=False):
    ident = q[:2] if ident is None else struct.pack(">H", ident)
    end = question_end(q)
    question = q[12:end] if name is None else name + q[end - 4:end]
    flags = 0x8380 if tc else 0x8180
    if tc:
        return ident + struct.pack(">HHHHH", flags, 1, 0, 0, 0) + question
    rr = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + address
    if MODE == "loop":
        rr = b"\xc0" + bytes([12 + len(question)]) + rr[2:]
    return ident + struct.pack(">HHHHH", flags, 1, 1, 0, 0) + question + rr


# One port number for UDP and TCP: the one the kernel gives UDP may be a local TCP port in use (a client's, in the
# ephemeral range), so another is tried.
for attempt in range(50):
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    port = udp.getsockname()[1]
    tcp = socket.socket()
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        tcp.bind(("127.0.0.1", port))
        break
    except OSError:
        udp.close()
        tcp.close()
tcp.listen(16)
forger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
forger.bind(("127.0.0.1", 0))


def serve_tcp():
    while True:
        c, _ = tcp.accept()
        try:
            c.settimeout(2)
            head = c.recv(2, socket.MSG_WAITALL)
            q = c.recv(struct.unpack(">H", head)[0], socket.MSG_WAITALL)
            a = answer(q)
            c.sendall(struct.pack(">H", len(a)) + a)
        except OSError:
            pass
        finally:
            c.close()


threading.Thread(target=serve_tcp, daemon=True).start()
print("ready", port, flush=True)
while True:
    q, peer = udp.recvfrom(4096)
    ident = struct.unpack(">H", q[:2])[0]
    if MODE == "tc":
        udp.sendto(answer(q, tc=True), peer)
    elif MODE == "hostile":
        forger.sendto(answer(q, address=b"\x06\x06\x06\x06"), peer)
        udp.sendto(answer(q, ident=ident ^ 0x5A5A, address=b"\x06\x06\x06\x07"), peer)
        udp.sendto(answer(q, name=b"\x05other\x04test\x00", address=b"\x06\x06\x06\x08"), peer)
        udp.sendto(answer(q), peer)
    elif MODE == "wrongid":
        udp.sendto(answer(q, ident=ident ^ 1), peer)
    elif MODE == "echo":
        udp.sendto(q, peer)
    else:
        udp.sendto(answer(q), peer)
