"""runwire's warm Python process, once zygote.py has compiled the runtime: reads the config,
warms up, prepares what every child inherits, then serves fork requests.

Control channel: JSON lines on stdin (from runwire) and stdout (to runwire).
  in:  {"type":"config",...} once, then {"type":"fork"} per child wanted
  out: {"type":"ready","pid","version","walls","preload"}, {"type":"forked","pid"}, {"type":"exit","pid","code","cpu"},
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
import time

import allowlist
import child  # imports the whole runtime
import seccomp
import taskns
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


# Thread pools a numerical library starts when it loads (OpenBLAS, OpenMP, MKL, numexpr) are
# not forked with the zygote: a pool whose threads held a lock at the fork can hang the child
# that uses it. Preloads load them with one thread (so none is started), unless runwire's
# environment, through N8N_RUNNER_ENV_ALLOW, sets the variable itself.
_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def _threads():
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0


def _resident():
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _preload(names):
    """Import each name before the first fork, so that every child inherits it loaded.
    A name that fails is reported and skipped; nothing a preload does stops the zygote
    short of killing it. Returns the ready line's report and the names of every module
    loaded by then (see sandbox.clean_modules: they stay in sys.modules)."""
    report = {"loaded": [], "failed": [], "rssBefore": _resident()}
    for variable in _THREAD_VARIABLES:
        os.environ.setdefault(variable, "1")
    # fd 1 is the control channel: a module that prints as it loads writes to stderr instead
    # (runwire's debug log).
    saved_fd, saved_stdout = os.dup(1), sys.stdout
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        for name in names:
            threads = _threads()
            start = time.perf_counter()
            try:
                __import__(name)
            except BaseException as error:  # noqa: B036 - SystemExit too: a preload never stops the zygote
                text = "%s: %s" % (type(error).__name__, error)
                report["failed"].append({"name": name, "error": text[:1000]})
                continue
            report["loaded"].append(
                {"name": name, "ms": round((time.perf_counter() - start) * 1000, 1), "threads": _threads() - threads}
            )
    finally:
        try:
            sys.stdout.flush()
        except BaseException:  # noqa: B036 - whatever a preload did to sys.stdout
            pass
        sys.stdout = saved_stdout
        os.dup2(saved_fd, 1)
        os.close(saved_fd)
    report["rssAfter"] = _resident()
    report["threads"] = _threads()
    return report, frozenset(sys.modules)


def _needs_site(config):
    # runwire starts Python without site (-S: leaner and faster); external packages need
    # site-packages on sys.path, so they get it when any is allowed or preloaded.
    if config.policy.external_all or config.policy.external:
        return True
    return any(name.split(".", 1)[0] not in allowlist.STDLIB_NAMES for name in config.preload)


def _warm_up(config):
    """Run the per-task machinery once, so that what it loads and caches is shared."""
    child._warm_up(config.policy)
    json.loads(b'{"type":"task","settings":{"items":[{"json":{}}]}}')


class Zygote:
    def __init__(self, config, prepared):
        self.config = config
        self.prepared = prepared
        # A PID namespace per child, where runwire expects it (see taskns).
        self.pids = taskns.PidNamespaces() if config.task_namespaces else None
        self.serial = 0
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
                self.fork(message.get("fault"))
                self.reap()
            else:
                _log("ignoring control message of type %r" % (kind,))

    def fork(self, fault=None):
        # fault is a spec's (python.Options.ForkFaultForSpecs): "fail" fails this fork as if
        # os.fork had raised, "nohello" makes the child exit before its hello.
        # A fresh secret per child, made before the fork: the child proves with it that it is
        # the one runwire is waiting for. Tasks forked earlier never saw it, so a task cannot
        # pose as a waiting child and take the next task.
        token = os.urandom(16).hex()
        # The child's temp dir is named by the zygote (in its own PID namespace the child is
        # pid 1, as every other one); runwire removes it once the child has ended.
        self.serial += 1
        tmp = str(self.serial)
        new_pids = self.pids.before_fork() if self.pids else False
        try:
            if fault == "fail":
                raise OSError(11, "Resource temporarily unavailable (injected by a spec)")
            pid = os.fork()
        except OSError as error:
            if self.pids:
                self.pids.after_fork()
            _log("fork failed: %s" % error)
            _write_line({"type": "forkfailed", "message": str(error)})
            return
        if pid == 0:
            if fault == "nohello":
                os._exit(3)
            try:
                fds = [self.wake_r, self.wake_w]
                if self.pids and self.pids.own is not None:
                    fds.append(self.pids.own)
                child.main(self.config, self.prepared, fds, token, tmp)
            finally:
                os._exit(1)
        if self.pids:
            self.pids.after_fork()
            if new_pids is False and self.pids.error:
                _log("a child without a PID namespace of its own: %s" % self.pids.error)
        _write_line({"type": "forked", "pid": pid, "token": token, "tmp": tmp})

    def reap(self):
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            # Every child is its task's init (or subreaper): 128+N is the task's signal N.
            code = taskns.exit_code(os.waitstatus_to_exitcode(status), True)
            # cpu: the child's CPU seconds, its task's included (it reaps it), so that runwire
            # can tell a SIGKILL at the hard RLIMIT_CPU from any other.
            cpu = usage.ru_utime + usage.ru_stime
            _write_line({"type": "exit", "pid": pid, "code": code, "cpu": cpu})


def main():
    line, rest = _read_config_line()
    try:
        config = child.Config(json.loads(line))
        if _needs_site(config):
            import site

            site.main()
        preload = None
        if config.preload:
            preload, config.preloaded = _preload(config.preload)
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
    if zygote.pids is not None:
        found["taskNamespaces"] = zygote.pids.enabled
        if not zygote.pids.enabled:
            found["taskNamespacesError"] = zygote.pids.error
        else:
            # Tried once here: where the kernel refuses it, no child tries, and runwire
            # announces the zygote's /proc (Landlock leaves the task only its own entry).
            options, why = taskns.probe_proc(zygote.pids, config.refuse_proc_probe)
            config.own_proc = options is not None
            if options is not None:
                found["proc"] = options
            else:
                found["procError"] = why
    if config.seccomp:
        refused = seccomp.probe(config.seccomp)
        found["seccomp"] = config.seccomp.rules if refused is None else 0
        if refused is not None:
            found["seccompError"] = refused
    ready = {"type": "ready", "pid": os.getpid(), "version": version, "walls": found}
    if preload is not None:
        preload["rss"] = _resident()  # after the collection, gc.freeze and the trim
        ready["preload"] = preload
    _write_line(ready)
    zygote.serve(rest)

