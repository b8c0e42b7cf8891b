#!/usr/bin/env python3
"""Start-up to ready and idle RSS of `pesquisa serve`.

usage: startup.py BIN URL   (the environment configures the server; URL is its base)

Starts BIN serve with NOTIFY_SOCKET pointing at a socket of ours and measures the time
from spawn to the systemd READY=1 datagram (sent once it listens and storage answers),
then checks GET URL/readyz answers 200, waits 2 s idle and reads VmRSS/VmHWM from
/proc. Prints one line: `ready_ms rss_kib hwm_kib`.
"""
import os, socket, subprocess, sys, tempfile, time, urllib.request

bin_, url = sys.argv[1], sys.argv[2]
d = tempfile.mkdtemp()
path = os.path.join(d, "notify")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(30)
env = dict(os.environ, NOTIFY_SOCKET=path)
t0 = time.perf_counter()
p = subprocess.Popen([bin_, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    while True:
        msg = s.recv(4096).decode()
        if "READY=1" in msg.split("\n"):
            ready = time.perf_counter() - t0
            break
    with urllib.request.urlopen(url + "/readyz", timeout=5) as r:
        assert r.status == 200, r.status
    time.sleep(2)
    status = dict(
        line.split(":", 1) for line in open(f"/proc/{p.pid}/status").read().splitlines() if ":" in line
    )
    rss = int(status["VmRSS"].split()[0])
    hwm = int(status["VmHWM"].split()[0])
    print(f"{ready * 1000:.1f} {rss} {hwm}")
finally:
    p.terminate()
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
    os.unlink(path)
    os.rmdir(d)
