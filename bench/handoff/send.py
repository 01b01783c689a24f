import socket, sys, time
n = int(sys.argv[1])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    u.sendto(b"x" * 12, ("198.18.0.2", 9))
t = socket.create_connection(("198.18.0.2", 5001), timeout=5)
for i in range(n):
    t.sendall(b"y" * 8)
    time.sleep(0.0005)
t.close()
# 5 UDP datagrams with a wrong checksum, through AF_PACKET (ip_summed NONE at the receiver)
import struct
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b)//2), b)); s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); p.bind(("va", 0))
src = open("/sys/class/net/va/address").read().strip()
for i in range(5):
    udp = struct.pack("!HHHH", 4000, 9, 20, 0x1234) + b"z" * 12
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i, 0, 64, 17, 0, socket.inet_aton("198.18.0.1"), socket.inet_aton("198.18.0.2"))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    p.send(b"\xff" * 6 + bytes.fromhex(src.replace(":", "")) + b"\x08\x00" + ip + udp)
