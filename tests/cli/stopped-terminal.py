# Runs a command on a pseudo-terminal whose output is stopped from the start, as Ctrl-S (XOFF) stops a terminal, and
# prints what came out once it was started again (Ctrl-Q), as JSON: {"status", "output", "answered"}.
#   stopped-terminal.py SECONDS PORT CLIENTS -- CMD...
# With PORT, once the command listens, CLIENTS connect one after another (TCP, "hi" for "HI"), and the command
# is sent SIGTERM after them. The terminal is started again once the command has exited or SECONDS have passed (a
# command whose last lines wait for the terminal cannot exit before).
import json, os, pty, select, signal, socket, subprocess, sys, time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers"))
from hi_clients import hi_clients  # noqa: E402

seconds, port, clients = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
cmd = sys.argv[5:]
master, slave = pty.openpty()
# Stopped from the start: the command's first line already waits.
os.write(master, b"\x13")
proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, start_new_session=True)
os.close(slave)
out = b""


def read_for(secs):
    global out
    end = time.monotonic() + secs
    while time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 0.05)
        if not ready and proc.poll() is not None:
            return
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            out += data


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


answered = 0
# Once it listens (one connection more for a server to count).
for _ in range(200):
    if not port or listening(port):
        break
    time.sleep(0.05)
if port:
    answered = hi_clients(port, clients)
    proc.send_signal(signal.SIGTERM)
try:
    proc.wait(timeout=seconds)
except subprocess.TimeoutExpired:
    pass
os.write(master, b"\x11")
read_for(10)
if proc.poll() is None:
    proc.kill()
status = proc.wait()
print(json.dumps({"status": status, "output": out.decode("utf-8", "replace"), "answered": answered}))
