"""Reading iptables-legacy counters straight from the kernel (IPT_SO_GET_INFO / IPT_SO_GET_ENTRIES on a raw
socket in the DUT namespace) instead of forking iptables-legacy-save for every packet: ~0.1 ms instead of ~8 ms.
The result has the shape of netns.Counters; netns.Oracle checks it against iptables-legacy-save after every load
and falls back to the save output if they ever differ."""
import ctypes
import socket
import struct

_libc = ctypes.CDLL(None, use_errno=True)
SOL_IP, IPT_SO_GET_INFO, IPT_SO_GET_ENTRIES = 0, 64, 65
HOOKS = {1: "INPUT", 2: "FORWARD", 3: "OUTPUT", 0: "PREROUTING", 4: "POSTROUTING"}
ENTRY_TARGET_OFFSET, ENTRY_NEXT_OFFSET, ENTRY_PCNT = 88, 90, 96


def _getsockopt(fd, opt, data):
    buf = ctypes.create_string_buffer(data, len(data))
    n = ctypes.c_uint32(len(data))
    if _libc.getsockopt(fd, SOL_IP, opt, buf, ctypes.byref(n)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"getsockopt({opt}): {err}")
    return buf.raw[:n.value]


class Reader:
    def __init__(self, sock):
        self.sock = sock  # socket(AF_INET, SOCK_RAW, IPPROTO_RAW) created in the DUT namespace

    def table(self, name, out):
        fd = self.sock.fileno()
        info = _getsockopt(fd, IPT_SO_GET_INFO, struct.pack("32s", name.encode()) + bytes(52))
        vals = struct.unpack_from("=I5I5III", info, 32)
        valid, hook_entry, underflow, size = vals[0], vals[1:6], vals[6:11], vals[12]
        buf = _getsockopt(fd, IPT_SO_GET_ENTRIES, struct.pack("=32sI4x", name.encode(), size) + bytes(size))
        table = buf[40:40 + size]
        starts = {hook_entry[h]: HOOKS[h] for h in HOOKS if valid >> h & 1}
        policies = {underflow[h]: HOOKS[h] for h in HOOKS if valid >> h & 1}
        chain, user, off = None, False, 0
        while off < len(table):
            toff, nxt = struct.unpack_from("=HH", table, off + ENTRY_TARGET_OFFSET)
            pcnt = struct.unpack_from("=Q", table, off + ENTRY_PCNT)[0]
            tname = table[off + toff + 2:off + toff + 31].split(b"\0")[0].decode()
            if off in starts:
                if user:
                    out.rules[(name, chain)].pop()  # the previous user chain's RETURN tail
                chain, user = starts[off], False
                out.rules.setdefault((name, chain), [])
            if tname == "ERROR":
                if user:
                    out.rules[(name, chain)].pop()
                data = table[off + toff + 32:off + toff + 64].split(b"\0")[0].decode()
                if data == "ERROR":
                    break
                chain, user = data, True
                out.rules.setdefault((name, chain), [])
            elif off in policies:
                out.policies[(name, policies[off])] = pcnt
                chain = None
            elif chain is not None:
                out.rules[(name, chain)].append(pcnt)
            if nxt == 0:
                break
            off += nxt
        return out


def new_socket():
    return socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
