# The CPU each process spends while a command runs (issue 20's budget): samples every process whose
# command line matches PATTERN every 50 ms, from before the command starts until it ends, and prints
# each one's CPU (utime+stime; for processes already running, what they spent meanwhile).
# Usage: python3 bench/floors/proc-cpu.py 'sshd: bqsftp|fake-gcs-server|^sftp |/usr/bin/ssh ' <command…>
import os, sys, time, subprocess, re
pat = re.compile(sys.argv[1]); cmd = sys.argv[2:]
tk = os.sysconf('SC_CLK_TCK'); seen = {}; first = {}
def sample():
    for p in os.listdir('/proc'):
        if not p.isdigit(): continue
        try:
            cl = open(f'/proc/{p}/cmdline','rb').read().replace(b'\0', b' ').decode(errors='replace')
            if not pat.search(cl): continue
            f = open(f'/proc/{p}/stat').read().rsplit(')',1)[1].split()
            v = (int(f[11]) + int(f[12])) / tk
            first.setdefault((p, cl[:60]), v if started else 0.0)
            seen[(p, cl[:60])] = v - first[(p, cl[:60])]
        except Exception: pass
started = True; sample(); started = False
t = time.time(); pr = subprocess.Popen(cmd)
while pr.poll() is None:
    sample(); time.sleep(0.05)
w = time.time() - t
by = {}
for (p, cl), c in seen.items(): by[cl] = by.get(cl, 0) + c
print(f"wall {w:.2f} s; matched processes cpu {sum(seen.values()):.2f} s", {k: round(v, 2) for k, v in by.items()})
