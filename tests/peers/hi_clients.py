# TCP clients nobody here wrote in TypeScript: one after another, each sends "hi" and wants "HI" back, as the
# textbook's client would. A server that stopped answering fails every client after it: five failures end the run.
#   hi_clients.py PORT N    prints how many of N were answered
import socket
import sys


def hi_clients(port, n):
    ok = failed = 0
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.settimeout(2)
            s.sendall(b"hi\n")
            ok += s.recv(16) == b"HI\n"
            s.close()
        except OSError:
            failed += 1
            if failed == 5:
                break
    return ok


if __name__ == "__main__":
    print(hi_clients(int(sys.argv[1]), int(sys.argv[2])))
