"""Packets: a small value model, the frame bytes built from it, a decoder for reports, and a pcap writer.

Everything is built here from the model so that the oracle (AF_PACKET on a veth) and the subject
(`bpftables run --pcap`) see the same bytes.
"""
import dataclasses
import ipaddress
import struct

ETH_P_IP = 0x0800
TCP, UDP, ICMP = 6, 17, 1
TCP_FLAG_NAMES = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"]


def ip_str(value):
    return str(ipaddress.IPv4Address(value))


def ip_int(text):
    return int(ipaddress.IPv4Address(text))


def mac_str(mac):
    return ":".join(f"{b:02x}" for b in mac)


def mac_bytes(text):
    return bytes(int(part, 16) for part in text.split(":"))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@dataclasses.dataclass
class Packet:
    src: int
    dst: int
    proto: int = TCP
    ttl: int = 64
    tos: int = 0
    ip_id: int = 1
    frag: int = 0  # flags and offset field, host order (0x2000 = MF, low 13 bits = offset in 8-byte units)
    ipopts: bytes = b""  # padded to 4 bytes by the builder
    sport: int = 40000
    dport: int = 80
    tcp_flags: int = 0x02
    icmp_type: int = 8
    icmp_code: int = 0
    payload: int = 0  # zero bytes after the L4 header
    l4_keep: int = -1  # keep only this many L4 bytes (a truncated header); -1 keeps all
    eth_dst: bytes = b""  # empty: the receiving interface's own address
    eth_src: bytes = b""  # empty: the sending interface's own address
    split: bool = False  # send the datagram as two fragments (the L4 header and 8 bytes, then the rest)
    seq: int = 1  # TCP sequence and acknowledgement numbers (conntrack cases follow a real handshake)
    ack: int = 0
    icmp_inner: bytes = b""  # an ICMP error's quoted datagram (IP header + 8 bytes)
    tcpopts: bytes = b""  # TCP options, padded to 4 bytes with end-of-list by the builder (the data offset grows)
    l4_bad_csum: bool = False  # a wrong TCP/UDP checksum (conntrack calls such a packet INVALID at PREROUTING)
    udp_no_csum: bool = False  # a UDP checksum field of 0: none computed (conntrack checks none)
    tcp_doff: int = 0  # the TCP data offset field, when not 0 (else the header's length)
    udp_len: int = -1  # the UDP length field, when not -1 (else the datagram's length)

    def to_json(self):
        d = dataclasses.asdict(self)
        for key in ("ipopts", "eth_dst", "eth_src", "icmp_inner", "tcpopts"):
            d[key] = d[key].hex()
        return d

    @staticmethod
    def from_json(d):
        d = dict(d)
        for key in ("ipopts", "eth_dst", "eth_src", "icmp_inner", "tcpopts"):
            if key in d:
                d[key] = bytes.fromhex(d[key])
        for key in ("src", "dst"):
            if isinstance(d[key], str):
                d[key] = ip_int(d[key])
        return Packet(**d)


def l4_bytes(p, src, dst):
    if p.proto == TCP:
        opts = p.tcpopts + b"\0" * (-len(p.tcpopts) % 4)
        hdr = struct.pack("!HHIIBBHHH", p.sport, p.dport, p.seq & 0xFFFFFFFF, p.ack & 0xFFFFFFFF,
                          (p.tcp_doff or 5 + len(opts) // 4) << 4, p.tcp_flags, 65535, 0, 0) + opts
    elif p.proto == UDP:
        hdr = struct.pack("!HHHH", p.sport, p.dport, 8 + p.payload if p.udp_len < 0 else p.udp_len, 0)
    elif p.proto == ICMP and p.icmp_inner:
        hdr = struct.pack("!BBHI", p.icmp_type, p.icmp_code, 0, 0) + p.icmp_inner
    elif p.proto == ICMP:
        hdr = struct.pack("!BBHHH", p.icmp_type, p.icmp_code, 0, 1, 1)
    else:
        hdr = struct.pack("!HHI", p.sport, p.dport, 0)
    body = hdr + bytes(p.payload)
    if p.proto in (TCP, UDP):
        pseudo = struct.pack("!IIBBH", src, dst, 0, p.proto, len(body))
        csum = checksum(pseudo + body)
        if p.proto == UDP and csum == 0:
            csum = 0xFFFF
        if p.l4_bad_csum:
            csum = csum ^ 0x5A5A or 0x5A5A
        if p.proto == UDP and p.udp_no_csum:
            csum = 0
        off = 16 if p.proto == TCP else 6
        body = body[:off] + struct.pack("!H", csum) + body[off + 2:]
    elif p.proto == ICMP:
        body = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
    if p.frag & 0x1FFF:  # a non-first fragment carries no L4 header, just data
        body = bytes(8 + p.payload)
    if p.l4_keep >= 0:
        body = body[: p.l4_keep]
    return body


def _ip_frame(p, eth_dst, eth_src, frag, l4):
    opts = p.ipopts + b"\0" * (-len(p.ipopts) % 4)
    ihl = 5 + len(opts) // 4
    total = ihl * 4 + len(l4)
    hdr = struct.pack("!BBHHHBBHII", 0x40 | ihl, p.tos, total, p.ip_id, frag, p.ttl, p.proto, 0, p.src, p.dst)
    hdr += opts
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    eth = (p.eth_dst or eth_dst) + (p.eth_src or eth_src) + struct.pack("!H", ETH_P_IP)
    return eth + hdr + l4


def build(p, eth_dst, eth_src):
    """The Ethernet frame; eth_dst/eth_src are the defaults used when the packet leaves them empty."""
    return _ip_frame(p, eth_dst, eth_src, p.frag, l4_bytes(p, p.src, p.dst))


def build_unit(p, eth_dst, eth_src):
    """The frames of one test unit: one frame, or the two fragments of a split datagram (checksums of the whole)."""
    if not p.split:
        return [build(p, eth_dst, eth_src)]
    whole = dataclasses.replace(p, frag=0, l4_keep=-1, payload=max(p.payload, 16))
    body = l4_bytes(whole, p.src, p.dst)
    cut = (len(body) - len(bytes(whole.payload)) + 8 + 7) // 8 * 8
    return [_ip_frame(whole, eth_dst, eth_src, 0x2000, body[:cut]),
            _ip_frame(whole, eth_dst, eth_src, cut // 8, body[cut:])]


def describe(p):
    """One line a network engineer reads: addresses, protocol, ports/flags, the unusual bits."""
    parts = [f"{ip_str(p.src)} > {ip_str(p.dst)}"]
    if p.proto == TCP:
        flags = ",".join(n for i, n in enumerate(TCP_FLAG_NAMES) if p.tcp_flags >> i & 1) or "none"
        parts.append(f"tcp {p.sport} > {p.dport} [{flags}]")
    elif p.proto == UDP:
        parts.append(f"udp {p.sport} > {p.dport}")
    elif p.proto == ICMP:
        parts.append(f"icmp type {p.icmp_type} code {p.icmp_code}")
    else:
        parts.append(f"proto {p.proto}")
    parts.append(f"ttl {p.ttl}")
    if p.tos:
        parts.append(f"tos 0x{p.tos:02x}")
    if p.frag:
        parts.append(f"frag {'MF ' if p.frag & 0x2000 else ''}{'DF ' if p.frag & 0x4000 else ''}off {p.frag & 0x1FFF}")
    if p.ipopts:
        parts.append(f"ip-options {p.ipopts.hex()}")
    if p.tcpopts:
        parts.append(f"tcp-options {p.tcpopts.hex()}")
    if p.payload:
        parts.append(f"payload {p.payload}")
    if p.split:
        parts.append("sent as two fragments")
    if p.l4_keep >= 0:
        parts.append(f"L4 truncated to {p.l4_keep} bytes")
    if p.eth_dst:
        parts.append(f"eth dst {mac_str(p.eth_dst)}")
    if p.eth_src:
        parts.append(f"eth src {mac_str(p.eth_src)}")
    return ", ".join(parts)


def decode(frame):
    """Decodes the bytes actually sent (independent of the model), for mismatch reports."""
    if len(frame) < 34:
        return f"short frame ({len(frame)} bytes)"
    dst, src, etype = frame[0:6], frame[6:12], struct.unpack("!H", frame[12:14])[0]
    out = [f"eth {mac_str(src)} > {mac_str(dst)} type 0x{etype:04x}"]
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    tos, total, ident, frag, ttl, proto, csum = struct.unpack("!xBHHHBBH", ip[:12])
    out.append(
        f"ipv4 ihl {ihl} tos 0x{tos:02x} len {total} id {ident} frag 0x{frag:04x} ttl {ttl} proto {proto} "
        f"csum 0x{csum:04x} {ip_str(struct.unpack('!I', ip[12:16])[0])} > {ip_str(struct.unpack('!I', ip[16:20])[0])}"
    )
    l4 = ip[ihl:total]
    if frag & 0x1FFF:
        out.append(f"fragment data {len(l4)} bytes")
    elif proto == TCP and len(l4) >= 14:
        sport, dport, seq, ack, off, flags = struct.unpack("!HHIIBB", l4[:14])
        out.append(f"tcp {sport} > {dport} flags 0x{flags:02x} doff {off >> 4} ({len(l4)} bytes)")
    elif proto == UDP and len(l4) >= 8:
        sport, dport, ulen, _ = struct.unpack("!HHHH", l4[:8])
        out.append(f"udp {sport} > {dport} len {ulen}")
    elif proto == ICMP and len(l4) >= 2:
        out.append(f"icmp type {l4[0]} code {l4[1]}")
    else:
        out.append(f"L4 {len(l4)} bytes")
    return "; ".join(out)


def hexdump(frame):
    return "\n".join(f"  {i:04x}  {frame[i:i + 16].hex(' ')}" for i in range(0, len(frame), 16))


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", i, 0, len(frame), len(frame)))
            f.write(frame)
