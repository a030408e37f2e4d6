"""Operating-system walls around a child, beyond n8n's language-level rules: a private
temporary directory, Landlock (writes only there; reads only there and in the system's and
Python's own directories; no TCP unless the network is allowed; no signals to processes
outside the child's own domain), and a cap on new processes.

Each wall is applied where the kernel allows it and skipped otherwise; `probe()` says which
are available, so runwire can log what is in force."""

import ctypes
import os
import resource
import sys

# Landlock (linux/landlock.h), x86_64 and arm64 share these syscall numbers.
_SYS_CREATE_RULESET = 444
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

_FS_EXECUTE = 1 << 0
_FS_WRITE_FILE = 1 << 1
_FS_READ_FILE = 1 << 2
_FS_READ_DIR = 1 << 3
_FS_REMOVE_DIR = 1 << 4
_FS_REMOVE_FILE = 1 << 5
_FS_MAKE_CHAR = 1 << 6
_FS_MAKE_DIR = 1 << 7
_FS_MAKE_REG = 1 << 8
_FS_MAKE_SOCK = 1 << 9
_FS_MAKE_FIFO = 1 << 10
_FS_MAKE_BLOCK = 1 << 11
_FS_MAKE_SYM = 1 << 12
_FS_REFER = 1 << 13  # ABI 2
_FS_TRUNCATE = 1 << 14  # ABI 3
_NET_BIND_TCP = 1 << 0  # ABI 4
_NET_CONNECT_TCP = 1 << 1  # ABI 4
_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
_SCOPE_SIGNAL = 1 << 1  # ABI 6


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _syscall(*args):
    return _libc.syscall(*args)


def trim_heap():
    """Give the C heap's free pages back to the system (glibc's malloc_trim; elsewhere
    nothing). The zygote calls it before its first fork, so that what its start-up freed is
    not mapped into (and counted in the RSS of) every child it forks."""
    trim = getattr(_libc, "malloc_trim", None)
    if trim is not None:
        trim(0)


def landlock_abi():
    """The kernel's Landlock ABI version, 0 if it has none (or forbids it)."""
    try:
        abi = _syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    except (OSError, AttributeError):
        return 0
    return max(int(abi), 0)


def probe():
    """What this kernel lets runwire put around a task."""
    return {"landlock": landlock_abi()}


def private_tmp(root, tempfile=None, on_import=None, set_environment=False, name=None):
    """A fresh directory for this child under root, which becomes its temp dir (the zygote
    removes it when the child has ended). tempfile learns it without the environment, which
    user code sees empty when env access is blocked (as in n8n): `tempfile` is the module if
    one was loaded before the zygote cleaned sys.modules (by an allowed package, say), whose
    `tempdir` is set here; a tempfile loaded later gets it from `on_import`
    (sandbox.PatchOnImport) as it loads. Only with env access allowed (`set_environment`)
    are TMPDIR, TEMP and TMP set too, for the programs user code starts. (The runtime itself
    does not import tempfile: the zygote would carry it, and shutil and random with it, for
    nothing.)"""
    path = os.path.join(root, name or str(os.getpid()))
    os.mkdir(path, 0o700)
    if set_environment:
        for name in ("TMPDIR", "TEMP", "TMP"):
            os.environ[name] = path
    if on_import is not None:
        on_import.tempdir = path
    if tempfile is not None:
        tempfile.tempdir = path
    return path


def cap_processes(more):
    """Allow at most `more` new processes. RLIMIT_NPROC counts every process of the user, so
    the cap is what the user has now plus `more`."""
    if not isinstance(more, int) or isinstance(more, bool) or more <= 0:
        return
    uid = os.getuid()
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat("/proc/" + entry).st_uid == uid:
                    count += 1
            except OSError:
                pass
    limit = count + more
    try:
        _soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
    except (OSError, ValueError):
        pass


# What a task may read besides the Python installation: the system's libraries and data, the
# device nodes, /proc (the PID and user namespaces already hide other users' processes) and
# /sys. Home directories, /tmp, /run, /var, /srv, /opt and /mnt are left out: that is where
# secrets (a mounted token file, say) live.
SYSTEM_READ_PATHS = ("/usr", "/lib", "/lib64", "/lib32", "/etc", "/dev", "/proc", "/sys")


def read_paths():
    """The directories a task may read: the system's, Python's prefixes and every directory on
    sys.path (site-packages included when external packages are allowed)."""
    paths = list(SYSTEM_READ_PATHS)
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        paths.append(p)
    paths.extend(p for p in sys.path if p)
    out = []
    for p in paths:
        real = os.path.realpath(p)
        if os.path.exists(real) and real not in out:
            out.append(real)
    return out


def restrict(writable, allow_network, readable=()):
    """Landlock this process and everything it starts: reads only beneath `readable` and
    `writable`, writes only beneath `writable` (and to /dev/null), no TCP unless
    allow_network, no signals or abstract sockets outside its own domain. Returns the ABI
    used, 0 when Landlock is not available (nothing is restricted)."""
    abi = landlock_abi()
    if abi < 1:
        return 0
    read = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
    fs = (
        read | _FS_WRITE_FILE | _FS_REMOVE_DIR | _FS_REMOVE_FILE | _FS_MAKE_CHAR | _FS_MAKE_DIR
        | _FS_MAKE_REG | _FS_MAKE_SOCK | _FS_MAKE_FIFO | _FS_MAKE_BLOCK | _FS_MAKE_SYM
    )
    if abi >= 2:
        fs |= _FS_REFER
    if abi >= 3:
        fs |= _FS_TRUNCATE
    attr = _RulesetAttr(handled_access_fs=fs)
    size = ctypes.sizeof(ctypes.c_uint64)  # ABI 1-3 know only handled_access_fs
    if abi >= 4 and not allow_network:
        attr.handled_access_net = _NET_BIND_TCP | _NET_CONNECT_TCP
        size = 2 * ctypes.sizeof(ctypes.c_uint64)
    if abi >= 6:
        attr.scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL
        size = ctypes.sizeof(_RulesetAttr)
    ruleset = _syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return 0
    try:
        _allow(ruleset, writable, fs)
        for path in readable:
            _allow(ruleset, path, read if os.path.isdir(path) else _FS_READ_FILE | _FS_EXECUTE)
        _allow(ruleset, os.devnull, _FS_READ_FILE | _FS_WRITE_FILE | (_FS_TRUNCATE if abi >= 3 else 0))
        if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return 0
        if _syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            return 0
    finally:
        os.close(ruleset)
    return abi


def _allow(ruleset, path, access):
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        rule = _PathBeneathAttr(allowed_access=access, parent_fd=fd)
        if _syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_uint32(_RULE_PATH_BENEATH), ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_add_rule " + path)
    finally:
        os.close(fd)
