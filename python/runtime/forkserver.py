"""runwire's warm Python process, once zygote.py has compiled the runtime: reads the config,
warms up, prepares what every child inherits, then serves fork requests.

Control channel: JSON lines on stdin (from runwire) and stdout (to runwire).
  in:  {"type":"config",...} once, then {"type":"fork"} per child wanted
  out: {"type":"ready","pid","version"}, {"type":"forked","pid"}, {"type":"exit","pid","code"},
       {"type":"error","message"} (fatal: the zygote exits)
The zygote imports everything a task needs once, then forks children on request (each
runs one task: see child.py), reaps them and reports how they ended (code >= 0: exit
status; < 0: the signal). It stays single-threaded and exits when stdin closes.
"""

import _signal  # not signal: its enums would be one more module in every process
import gc
import json
import os
import select
import sys

import child  # imports the whole runtime
import seccomp
import walls


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
    def __init__(self, config, prepared):
        self.config = config
        self.prepared = prepared
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        _signal.signal(_signal.SIGCHLD, lambda _signum, _frame: None)
        _signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        # select.poll rather than selectors: one module less in every process.
        self.poll = select.poll()
        self.poll.register(0, select.POLLIN)
        self.poll.register(self.wake_r, select.POLLIN)
        self.pending = b""

    def serve(self, rest):
        self.pending = rest
        self.handle_lines()
        while True:
            for fd, _events in self.poll.poll():
                if fd == 0:
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
                fds = [self.wake_r, self.wake_w]
                child.main(self.config, self.prepared, fds, token)
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
                remove_tree(os.path.join(self.config.tmp_root, str(pid)))


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_MAX_DEPTH = 64


def remove_tree(path):
    """Remove a task's temp dir and what the task left in it, never following a symbolic link:
    this process has no Landlock walls, and what a task leaves behind is not to be trusted. Every
    directory is opened with O_NOFOLLOW and its entries removed relative to it, as
    shutil.rmtree does where it can, but without shutil, which this process would otherwise
    carry (and share with every child) for this alone: the zygote imports nothing once it has
    forked (see child.Prepared). Deeper than _MAX_DEPTH, or when something cannot be removed,
    the rest is left for runwire's removal of the runtime directory at exit."""
    try:
        os.rmdir(path)  # the usual case: the task left nothing behind
        return
    except FileNotFoundError:
        return
    except OSError:
        pass
    try:
        fd = os.open(path, _DIR_FLAGS)
    except OSError:
        return
    try:
        _clear(fd, 1)
    finally:
        os.close(fd)
    try:
        os.rmdir(path)
    except OSError:
        pass


def _clear(fd, depth):
    try:
        with os.scandir(fd) as entries:
            listed = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    except OSError:
        return
    for name, is_dir in listed:
        if not is_dir:
            try:
                os.unlink(name, dir_fd=fd)
            except OSError:
                pass
            continue
        if depth < _MAX_DEPTH:
            try:
                sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError:
                continue
            try:
                _clear(sub, depth + 1)
            finally:
                os.close(sub)
        try:
            os.rmdir(name, dir_fd=fd)
        except OSError:
            pass


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
        # Last: from here on this process imports nothing (see Prepared).
        prepared = child.Prepared(config)
    except Exception as error:
        _write_line({"type": "error", "message": "bad config: %s" % error})
        sys.exit(1)
    zygote = Zygote(config, prepared)
    gc.collect()
    gc.freeze()  # keep the collector from touching (and un-sharing) the zygote's pages
    walls.trim_heap()
    version = "%d.%d.%d" % sys.version_info[:3]
    found = walls.probe()
    if config.seccomp:
        refused = seccomp.probe(config.seccomp)
        found["seccomp"] = config.seccomp.rules if refused is None else 0
        if refused is not None:
            found["seccompError"] = refused
    _write_line({"type": "ready", "pid": os.getpid(), "version": version, "walls": found})
    zygote.serve(rest)

