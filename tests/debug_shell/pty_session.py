"""Drives a command through a pseudo terminal, as a person at a terminal would: waits for each
expected text, types the next line, and finally types `exit`. Usage: pty_session.py STEPS_JSON
COMMAND... where STEPS_JSON is [[expect, type], ...]. Prints what the terminal showed; exits with
the command's code, or 3 when an expected text never came (within 120 s) or the terminal closed
before it."""
import json, os, pty, select, sys, time

steps = json.loads(sys.argv[1])
argv = sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)

seen = b""


def until(text, limit=120.0):
    global seen
    end = time.time() + limit
    while text.encode() not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, end - time.time()))
        if not ready:
            sys.stdout.write(seen.decode(errors="replace"))
            sys.stderr.write("TIMEOUT waiting for %r\n" % text)
            os.kill(pid, 9)
            sys.exit(3)
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            sys.stdout.write(seen.decode(errors="replace"))
            sys.stderr.write("the terminal closed while waiting for %r\n" % text)
            sys.exit(3)
        seen += data


for expect, line in steps:
    until(expect)
    os.write(fd, (line + "\n").encode())
while True:
    ready, _, _ = select.select([fd], [], [], 120)
    if not ready:
        os.kill(pid, 9)
        sys.stderr.write("the command did not end after exit\n")
        break
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    seen += data
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
