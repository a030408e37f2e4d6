"""runwire's warm Python process. Run as `python -I -B zygote.py`.

Control channel: JSON lines on stdin (from runwire) and stdout (to runwire).
  in:  {"type":"config",...} once, then {"type":"fork"} per child wanted
  out: {"type":"ready","pid","version"}, {"type":"forked","pid"}, {"type":"exit","pid","code"},
       {"type":"error","message"} (fatal: the zygote exits)
The zygote imports everything a task needs once, then forks children on request (each
runs one task: see child.py), reaps them and reports how they ended (code >= 0: exit
status; < 0: the signal). It stays single-threaded and exits when stdin closes.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves it out

import gc  # noqa: E402
import json  # noqa: E402
import selectors  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402

import child  # noqa: E402  (imports the whole runtime)
import walls  # noqa: E402


def _write_line(message):
    data = (json.dumps(message, separators=(",", ":")) + "\n").encode("utf-8")
    while data:
        try:
            data = data[os.write(1, data) :]
        except InterruptedError:
            continue
        except BrokenPipeError:
            os._exit(0)  # runwire is gone


def _log(text):
    child.printing._write_stderr("runwire python zygote: %s\n" % text)


def _read_config_line():
    buf = b""
    while b"\n" not in buf:
        chunk = os.read(0, 65536)
        if not chunk:
            if not buf.strip():
                sys.exit(0)  # closed before saying anything
            break
        buf += chunk
    line, _, rest = buf.partition(b"\n")
    return line, rest


def _warm_up(config):
    """Run the per-task machinery once, so that what it loads and caches is shared."""
    child._warm_up(config.policy)
    json.loads(b'{"type":"task","settings":{"items":[{"json":{}}]}}')


class Zygote:
    def __init__(self, config):
        self.config = config
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        self.selector.register(0, selectors.EVENT_READ, "control")
        self.selector.register(self.wake_r, selectors.EVENT_READ, "sigchld")
        self.pending = b""

    def serve(self, rest):
        self.pending = rest
        self.handle_lines()
        while True:
            for key, _events in self.selector.select():
                if key.data == "control":
                    chunk = os.read(0, 65536)
                    if not chunk:
                        return  # runwire closed our stdin: time to go
                    self.pending += chunk
                    self.handle_lines()
                else:
                    try:
                        while os.read(self.wake_r, 512):
                            pass
                    except BlockingIOError:
                        pass
                    self.reap()

    def handle_lines(self):
        while b"\n" in self.pending:
            line, _, self.pending = self.pending.partition(b"\n")
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except ValueError:
                _log("ignoring an unreadable control line")
                continue
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == "fork":
                self.fork()
                self.reap()
            else:
                _log("ignoring control message of type %r" % (kind,))

    def fork(self):
        # A fresh secret per child, made before the fork: the child proves with it that it is
        # the one runwire is waiting for. Tasks forked earlier never saw it, so a task cannot
        # pose as a waiting child and take the next task.
        token = os.urandom(16).hex()
        try:
            pid = os.fork()
        except OSError as error:
            _log("fork failed: %s" % error)
            _write_line({"type": "forkfailed", "message": str(error)})
            return
        if pid == 0:
            try:
                fds = [self.selector.fileno(), self.wake_r, self.wake_w]
                child.main(self.config, fds, token)
            finally:
                os._exit(1)
        _write_line({"type": "forked", "pid": pid, "token": token})

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            _write_line({"type": "exit", "pid": pid, "code": os.waitstatus_to_exitcode(status)})
            if self.config.tmp_root:
                shutil.rmtree(os.path.join(self.config.tmp_root, str(pid)), ignore_errors=True)


def main():
    line, rest = _read_config_line()
    try:
        config = child.Config(json.loads(line))
        if config.policy.external_all or config.policy.external:
            # runwire starts Python without site (-S: leaner and faster); external packages
            # need site-packages on sys.path, so they get it when any is allowed.
            import site

            site.main()
        _warm_up(config)
    except Exception as error:
        _write_line({"type": "error", "message": "bad config: %s" % error})
        sys.exit(1)
    zygote = Zygote(config)
    gc.collect()
    gc.freeze()  # keep the collector from touching (and un-sharing) the zygote's pages
    version = "%d.%d.%d" % sys.version_info[:3]
    _write_line({"type": "ready", "pid": os.getpid(), "version": version, "walls": walls.probe()})
    zygote.serve(rest)


if __name__ == "__main__":
    main()
