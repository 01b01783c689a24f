#!/usr/bin/python3
"""The host-firewall scenario's traffic (bench/accepted.py), run inside a namespace with `ip netns exec`.

    hostfw_traffic.py server ADDR TCP_PORT UDP_PORT
        TCP: accepts, reads a request, answers it and closes; UDP: counts datagrams and answers the first of each
        source (so conntrack sees the flow ESTABLISHED, as a DNS-like service would). Prints `ready`, runs until
        its stdin closes, drains for 0.2 s and prints {"udp_received": N, "tcp_served": N} as JSON.
    hostfw_traffic.py client ADDR TCP_PORT UDP_PORT SECONDS MAX_CONNS MAX_DATAGRAMS
        SECONDS of TCP connections one after another (connect, 64-byte request, answer, close; at most MAX_CONNS),
        then SECONDS of UDP datagrams (64 bytes) round robin over 8 sockets (at most MAX_DATAGRAMS); prints the
        counts and each phase's duration as JSON.
"""
import json
import selectors
import socket
import sys
import time

REQUEST = b"x" * 64


def server(addr, tcp_port, udp_port):
    sel = selectors.DefaultSelector()
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind((addr, tcp_port))
    lst.listen(512)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    udp.bind((addr, udp_port))
    udp.setblocking(False)
    sel.register(lst, selectors.EVENT_READ, "tcp")
    sel.register(udp, selectors.EVENT_READ, "udp")
    sel.register(sys.stdin, selectors.EVENT_READ, "stdin")
    received, served, answered = 0, 0, set()
    print("ready", flush=True)
    stop_at = None
    while stop_at is None or time.monotonic() < stop_at:
        for key, _ in sel.select(timeout=0.05):
            if key.data == "stdin":
                if not sys.stdin.readline():
                    sel.unregister(sys.stdin)
                    stop_at = time.monotonic() + 0.2
            elif key.data == "tcp":
                conn, _ = lst.accept()
                conn.settimeout(2)
                try:
                    if conn.recv(len(REQUEST)):
                        conn.sendall(REQUEST)
                        served += 1
                except OSError:
                    pass
                conn.close()
            else:
                for _ in range(256):
                    try:
                        data, peer = udp.recvfrom(2048)
                    except BlockingIOError:
                        break
                    received += 1
                    if peer not in answered:
                        answered.add(peer)
                        udp.sendto(data, peer)
    print(json.dumps({"udp_received": received, "tcp_served": served}), flush=True)


def client(addr, tcp_port, udp_port, seconds, max_conns, max_datagrams):
    conns, failed = 0, 0
    start = time.monotonic()
    while conns < max_conns and time.monotonic() - start < seconds:
        try:
            with socket.create_connection((addr, tcp_port), timeout=2) as s:
                s.sendall(REQUEST)
                if s.recv(len(REQUEST)):
                    conns += 1
        except OSError:
            failed += 1
    tcp_s = time.monotonic() - start
    socks = []
    for _ in range(8):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((addr, udp_port))
        s.setblocking(False)
        socks.append(s)
    for s in socks:  # the first datagram of each flow and its answer: the flows are ESTABLISHED from then on
        s.send(REQUEST)
    time.sleep(0.1)
    sent = len(socks)
    start = time.monotonic()
    while sent < max_datagrams and time.monotonic() - start < seconds:
        for s in socks:
            try:
                s.send(REQUEST)
                sent += 1
            except (BlockingIOError, ConnectionRefusedError):
                pass
    udp_s = time.monotonic() - start
    print(json.dumps({"tcp_conns": conns, "tcp_failed": failed, "tcp_seconds": tcp_s, "udp_sent": sent,
                      "udp_seconds": udp_s}))


def main():
    if sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]),
               int(sys.argv[7]))


if __name__ == "__main__":
    main()
