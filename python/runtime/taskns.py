"""Walls around one task that the kernel builds from namespaces: its own PID namespace (the
child is init there, so when the task ends the kernel ends everything it started, setsid'd
and double-forked included), its own IPC namespace (no SysV IPC shared with any other task),
and a mount namespace of its own holding a private tmpfs as its temp dir (a size and an inode
cap; it disappears with the task).

The zygote calls unshare(CLONE_NEWPID) before each fork (so the child is pid 1 of a fresh
namespace) and setns() back after it (`PidNamespaces`). The child then forks the process that
says hello and runs the task (pid 2) and stays as its init (`serve_as_init`): it reaps, and
exits with the task's status (128+N for signal N). Where the kernel refuses namespaces, the
child is a subreaper instead and kills every descendant once the task has ended.
"""

import _signal
import ctypes
import os

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000

_PR_SET_CHILD_SUBREAPER = 36
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_REC = 16384
_MS_PRIVATE = 1 << 18
_SIGKILL = 9

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
_libc.unshare.argtypes = (ctypes.c_int,)
_libc.setns.argtypes = (ctypes.c_int, ctypes.c_int)
_libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)


def _check(result, what):
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, "%s: %s" % (what, os.strerror(error)))


class PidNamespaces:
    """The zygote's side: a fresh PID namespace for the next child it forks. `enabled` is
    False where the kernel refused the first one (the children are subreapers then)."""

    def __init__(self):
        self.own = None
        self.error = None
        try:
            self.own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
            _check(_libc.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")
            _check(_libc.setns(self.own, CLONE_NEWPID), "setns(own PID namespace)")
        except OSError as error:
            self.error = str(error)
            if self.own is not None:
                os.close(self.own)
                self.own = None

    @property
    def enabled(self):
        return self.own is not None

    def before_fork(self):
        """The next fork's child starts a PID namespace of its own (True), or not."""
        if self.own is None:
            return False
        return _libc.unshare(CLONE_NEWPID) == 0

    def after_fork(self):
        """The zygote's later children are in its own PID namespace again, until before_fork."""
        if self.own is not None and _libc.setns(self.own, CLONE_NEWPID) != 0:
            # unshare would now refuse every later call (the zygote's children-namespace is not
            # its own any more): stop trying, the children become subreapers.
            self.error = "setns(own PID namespace): " + os.strerror(ctypes.get_errno())
            os.close(self.own)
            self.own = None

    def close_in_child(self):
        if self.own is not None:
            os.close(self.own)


def isolate():
    """In a child that is pid 1 of its own PID namespace, before its capabilities are dropped:
    an IPC namespace and a mount namespace of its own, every mount private (nothing mounted
    here reaches the zygote). Raises OSError when the kernel refuses."""
    _check(_libc.unshare(CLONE_NEWIPC | CLONE_NEWNS), "unshare(CLONE_NEWIPC|CLONE_NEWNS)")
    _check(_libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None), "mount --make-rprivate /")


_MS_NOEXEC = 8
# hidepid=invisible (Linux 5.8+; hidepid=2 before): the task sees in /proc only the processes it
# may ptrace, itself and what it starts, not its init (another uid or not dumpable).
PROC_OPTIONS = (b"hidepid=invisible", b"hidepid=2")


def mount_proc():
    """A procfs of the task's own PID namespace on /proc, in its own mount namespace (after
    isolate, before capabilities are dropped): no host process, not runwire, not the zygote.
    Returns the options it was mounted with; raises OSError when the kernel refuses (as it does
    where the /proc it would shadow has parts hidden by overmounts, as in some containers)."""
    for options in PROC_OPTIONS:
        if _libc.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, options) == 0:
            return options.decode("ascii")
        error = ctypes.get_errno()
        if error != 22:  # EINVAL: an option this kernel does not know; try the next
            break
    raise OSError(error, "mount proc on /proc: " + os.strerror(error))


def probe_proc(pids, refuse=None):
    """Whether this kernel lets a task mount a procfs of its own (mount_proc), tried once by
    the zygote before its "ready" in a throwaway child made as every task's is (a PID
    namespace, then IPC and mount namespaces of its own). Returns (options, None) where it
    holds, else (None, why): a container runtime that hides parts of /proc under overmounts
    (podman, Kubernetes) makes the kernel refuse it with EPERM. refuse is a spec's
    (python.Options.RefuseProcProbeForSpecs): the probe reports that refusal instead."""
    if refuse:
        return None, refuse
    r, w = os.pipe()
    pids.before_fork()
    try:
        pid = os.fork()
    except OSError as error:
        pids.after_fork()
        os.close(r)
        os.close(w)
        return None, "could not fork to try it: %s" % error
    if pid == 0:
        code = 1
        try:
            os.close(r)
            try:
                isolate()
                said = "+" + mount_proc()
            except OSError as error:
                said = "-" + str(error)
            os.write(w, said.encode("utf-8", "replace"))
            code = 0
        finally:
            os._exit(code)
    pids.after_fork()
    os.close(w)
    said = b""
    try:
        while True:
            chunk = os.read(r, 4096)
            if not chunk:
                break
            said += chunk
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    said = said.decode("utf-8", "replace")
    if said.startswith("+"):
        return said[1:], None
    if said.startswith("-"):
        return None, said[1:]
    return None, "the trial process ended without a word"


def tmpfs_options(size_bytes):
    """tmpfs's options for a temp dir of size_bytes: as many inodes as 1 KiB blocks (at least
    1024), so that neither bytes nor small files can fill the machine."""
    return "size=%d,nr_inodes=%d,mode=0700" % (size_bytes, max(1024, size_bytes // 1024))


def mount_tmp(path, size_bytes):
    """A private tmpfs on the task's temp dir, capped at size_bytes and tmpfs_options' inodes."""
    options = tmpfs_options(size_bytes).encode("ascii")
    _check(_libc.mount(b"tmpfs", os.fsencode(path), b"tmpfs", _MS_NOSUID | _MS_NODEV, options), "mount tmpfs " + path)


def become_subreaper():
    """Where the kernel refused a PID namespace: orphans of the task are reparented to this
    process, which kills them once the task has ended (kill_descendants)."""
    _check(_libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "PR_SET_CHILD_SUBREAPER")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities():
    """No capability left, ambient ones included. Not root, the zygote holds CAP_SYS_ADMIN in
    its own user namespace only to make these namespaces; a task never keeps it."""
    _check(_libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "PR_CAP_AMBIENT_CLEAR_ALL")
    header = _CapHeader(version=_LINUX_CAPABILITY_VERSION_3, pid=0)
    _check(_libc.capset(ctypes.byref(header), (_CapData * 2)()), "capset")


def _children():
    """This process's children, where /proc is of its own PID namespace (else none are known)."""
    try:
        if int(os.readlink("/proc/self")) != os.getpid():
            return []
        with open("/proc/thread-self/children", "rb") as f:
            return [int(p) for p in f.read().split()]
    except (OSError, ValueError):
        return []


def kill_descendants():
    """SIGKILL every child, then every orphan reparented to this subreaper, until none is left."""
    while True:
        for pid in _children():
            try:
                os.kill(pid, _SIGKILL)
            except OSError:
                pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def serve_as_init(task_pid, subreaper, inherited_fds):
    """Reap until the task process ends, then exit with its status (128+N for signal N). As
    pid 1 of the namespace, exiting ends every process still in it; a subreaper kills them
    first. It closes what it holds of the zygote's (its control channel, its wake-up pipe)
    and leaves the zygote's signal handlers to SIGCHLD's default. Never returns."""
    os.close(0)
    os.close(1)
    for fd in inherited_fds:
        try:
            os.close(fd)
        except OSError:
            pass
    _signal.set_wakeup_fd(-1)
    _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
    status = None
    while status is None:
        try:
            pid, wait_status = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            break
        if pid == task_pid:
            status = wait_status
    if subreaper:
        kill_descendants()
    code = 1 if status is None else os.waitstatus_to_exitcode(status)
    os._exit(128 - code if code < 0 else code)


def exit_code(code, init):
    """A child's exit code as the zygote reports it: for an init child, 128+N means signal N
    (a task's own exit code above 128 reads as that signal too)."""
    if init and 128 < code < 128 + 65:
        return 128 - code
    return code
