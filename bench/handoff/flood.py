import socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.setblocking(False)
end = time.time() + float(sys.argv[1]); n = 0; m = b"x" * 12
while time.time() < end:
    for i in range(100):
        try: u.sendto(m, ("198.18.0.2", 9)); n += 1
        except BlockingIOError: pass
print("sent", n)
