"""Runs a command in a pseudo terminal of a given width, as a person at a terminal would see it,
and prints everything it drew (escape sequences included). Usage: pty_capture.py COLUMNS
COMMAND... Exits with the command's code; 3 when it has not ended after 240 s."""
import fcntl, os, pty, select, struct, sys, termios

columns = int(sys.argv[1])
argv = sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
seen = b""
code = 3
while True:
    ready, _, _ = select.select([fd], [], [], 240)
    if not ready:
        os.kill(pid, 9)
        sys.stderr.write("the command did not end\n")
        break
    try:
        data = os.read(fd, 4096)
    except OSError:
        data = b""
    if not data:
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        break
    seen += data
sys.stdout.write(seen.decode(errors="replace"))
sys.exit(code)
