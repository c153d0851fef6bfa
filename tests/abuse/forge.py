#!/usr/bin/env python3
# Sends UDP datagrams with forged sources through a raw socket (root only), inside 127.0.0.0/8 and nowhere else.
# Reads one JSON object on stdin:
#   {"dst": "127.0.0.1", "dport": N,
#    "items": [{"src": "127.0.0.1", "sport": N, "payload": "hex", "count": N}, ...],
#    "spray": {"count": N, "sport": N, "payload": "hex", "seed": N},   (sources 127.x.y.z, x.y.z random)
#    "seconds": S,                                                      (stop sending after S seconds whatever is left)
#    "rate": N}                                                         (at most N datagrams a second; default as fast as it goes)
# and prints the number of datagrams and payload bytes sent, as JSON.
import ipaddress, json, random, socket, struct, sys, time

spec = json.load(sys.stdin)
loopback = ipaddress.ip_network("127.0.0.0/8")

def checked(addr):
    if ipaddress.ip_address(addr) not in loopback:
        sys.exit(f"forge.py: {addr} is outside 127.0.0.0/8")
    return socket.inet_aton(addr)

dst = spec["dst"]
dst_raw = checked(dst)
dport = int(spec["dport"])

def packet(src_raw, sport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload  # checksum 0: none, allowed over IPv4
    # The kernel fills in the IP checksum, total length and id with IP_HDRINCL.
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, socket.IPPROTO_UDP, 0, src_raw, dst_raw)
    return ip + udp

def packets():
    for item in spec.get("items", []):
        pkt = packet(checked(item["src"]), int(item["sport"]), bytes.fromhex(item.get("payload", "")))
        for _ in range(int(item.get("count", 1))):
            yield pkt, len(pkt) - 28
    spray = spec.get("spray")
    if spray:
        rng = random.Random(spray.get("seed", 1))
        payload = bytes.fromhex(spray.get("payload", ""))
        for _ in range(int(spray["count"])):
            src = bytes([127, rng.randrange(1, 255), rng.randrange(0, 256), rng.randrange(1, 255)])
            yield packet(src, int(spray["sport"]), payload), len(payload)

sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
start = time.monotonic()
deadline = start + float(spec.get("seconds", 10))
rate = float(spec.get("rate", 0))
sent = 0
sent_bytes = 0
for pkt, size in packets():
    now = time.monotonic()
    if now > deadline:
        break
    if rate > 0 and sent > rate * (now - start):
        time.sleep(sent / rate - (now - start))
    try:
        sock.sendto(pkt, (dst, 0))
    except BlockingIOError:
        time.sleep(0.001)
        continue
    sent += 1
    sent_bytes += size
print(json.dumps({"sent": sent, "bytes": sent_bytes}))
