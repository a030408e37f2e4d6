"""Operating-system walls around a child, beyond n8n's language-level rules: an identity that
owns nothing on the host (`drop_identity`), a private temporary directory, Landlock (writes
only there; reads only there, in the system's libraries, a short list of files under /etc,
/dev and /sys, the task's own /proc entry and Python's own directories; no TCP unless the
network is allowed; no signals to processes outside the child's own domain), and a cap on new
processes. `reveal` runs in the zygote: it makes the interpreter reachable to the task's uid.

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
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_SIGKILL = 9
_MS_RDONLY = 1
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_REMOUNT = 32
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18

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
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
_libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)


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
    """What this kernel lets runwire put around a task, and the rule set plan() recorded."""
    out = {"landlock": landlock_abi()}
    out.update(_planned)
    return out


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


# What a task may read besides the Python installation and its own temp dir. Directories: the
# system's libraries and programs, its own /proc entry (/proc/self, resolved when the rule is
# made: the task's process, not the processes it starts), /proc/sysvipc (the SysV objects of
# the task's own IPC namespace), and what os.cpu_count() and the C library read in /sys. Files:
# a short list under /etc (the loader's cache, name resolution, time zone, MIME types; no
# passwd, shadow, keys or runwire's own config) and the harmless devices.
# Home directories, /tmp, /run, /var, /srv, /opt, /mnt, /dev/shm and the rest of /etc, /proc and
# /sys are left out: that is where secrets and other processes live. Paths that do not exist
# on this machine are skipped.
SYSTEM_READ_DIRS = (
    "/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin",
    "/proc/self", "/proc/sysvipc", "/sys/devices/system/cpu",
    "/etc/ssl/certs", "/etc/ca-certificates", "/etc/pki/tls/certs", "/etc/pki/ca-trust/extracted",
    "/etc/alternatives",
)
SYSTEM_READ_FILES = (
    "/etc/ld.so.cache", "/etc/localtime", "/etc/timezone", "/etc/nsswitch.conf", "/etc/hosts",
    "/etc/resolv.conf", "/etc/host.conf", "/etc/gai.conf", "/etc/services", "/etc/protocols",
    "/etc/mime.types", "/etc/ssl/openssl.cnf", "/etc/ssl/cert.pem",
    "/dev/zero", "/dev/random", "/dev/urandom",
)
# Read and written (written to as well: what is written there goes nowhere).
SYSTEM_WRITE_FILES = ("/dev/null", "/dev/full")


def read_paths():
    """The directories and files a task may read besides its temp dir: the system's (above),
    Python's prefixes and every directory on sys.path (site-packages included when external
    packages are allowed). /proc/self is left as it is, for restrict to resolve in the child."""
    paths = list(SYSTEM_READ_DIRS) + list(SYSTEM_READ_FILES)
    paths.extend(python_paths())
    out = []
    for p in paths:
        real = p if p == "/proc/self" else os.path.realpath(p)
        if os.path.exists(real) and real not in out:
            out.append(real)
    return out


def python_paths():
    """Python's prefixes and sys.path, as real paths."""
    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    paths.extend(p for p in sys.path if p)
    out = []
    for p in paths:
        real = os.path.realpath(p)
        if os.path.isdir(real) and real not in out:
            out.append(real)
    return out


_planned = {}


def write_files():
    """SYSTEM_WRITE_FILES that exist here."""
    return tuple(p for p in SYSTEM_WRITE_FILES if os.path.exists(p))


def plan(read):
    """Record the Landlock rule set every child will apply (probe() reports it, and each child's
    hello must match it): the temp dir, `read`, write_files()."""
    _planned["landlockRules"] = 1 + len(read) + len(write_files())


def _prctl(option, arg2=0):
    return _libc.prctl(option, arg2, 0, 0, 0)


def harden_process(no_new_privs=True):
    """no_new_privs (nothing this process or its descendants execute gains a privilege),
    not dumpable (its /proc entry and memory are closed to other processes of its uid, no core)
    and SIGKILL when its parent dies: for the zygote, and again in each child after it has
    changed its identity (which clears the parent-death signal and may reset dumpable; a child
    inherits no_new_privs, which can never be unset). Raises OSError if one is refused."""
    steps = ((_PR_SET_DUMPABLE, 0), (_PR_SET_PDEATHSIG, _SIGKILL))
    if no_new_privs:
        steps = ((_PR_SET_NO_NEW_PRIVS, 1),) + steps
    for option, value in steps:
        if _prctl(option, value) != 0:
            raise OSError(ctypes.get_errno(), "prctl(%d)" % option)


def _last_cap():
    try:
        with open("/proc/sys/kernel/cap_last_cap", "rb") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 63


def empty_bounding_set():
    """Drop every capability still in this process's bounding set (the zygote does it once, so
    that a child, which inherits it, has nothing left to drop: one drop costs a credentials
    copy, about 20 µs)."""
    fd = os.open("/proc/self/status", os.O_RDONLY | os.O_CLOEXEC)
    try:
        text = os.read(fd, 65536)
    finally:
        os.close(fd)
    for line in text.splitlines():
        if line.startswith(b"CapBnd:"):
            bits = int(line.split()[1], 16)
            break
    else:
        raise OSError("no CapBnd in /proc/self/status")
    cap = 0
    while bits:
        if bits & 1 and _prctl(_PR_CAPBSET_DROP, cap) != 0:
            raise OSError(ctypes.get_errno(), "PR_CAPBSET_DROP %d" % cap)
        bits >>= 1
        cap += 1


def drop_identity(uid, gid, bounding=False):
    """Become uid/gid with no supplementary groups and no capability, the bounding set empty (so
    that nothing executed later gains one either), then harden_process. uid/gid are the task's
    ids as this process's user namespace names them; None leaves them as they are (runwire not
    root: its own uid is the only one there is, and the zygote holds no capability after its
    execve as a uid other than 0). Changing every uid from 0 to another clears the permitted,
    effective and ambient capabilities (capabilities(7); SECBIT_KEEP_CAPS is never set), so no
    capset is needed: runwire reads all three, the bounding set and the ids in /proc before the
    child gets a task. The bounding set is the zygote's, emptied once there: `bounding` drops
    what is left of it here, for a child in a user namespace of its own (which starts with a full
    one). (A fresh child pays tens of µs of copied pages per ctypes call and about 250 µs for
    reading /proc/self/status: the steps here are os calls but for two prctl.) Raises OSError when
    a step is refused."""
    if uid is not None:
        if bounding:
            empty_bounding_set()
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    harden_process(no_new_privs=False)


def status():
    """This process's identity as the kernel reports it (/proc/self/status): uid, gid, groups,
    capability sets, no_new_privs, seccomp filters."""
    out = {}
    with open("/proc/self/status", "rb") as f:
        for line in f.read().decode("ascii", "replace").splitlines():
            key, _, value = line.partition(":")
            value = value.split()
            if key in ("Uid", "Gid"):
                out[key.lower()] = [int(v) for v in value]
            elif key == "Groups":
                out["groups"] = [int(v) for v in value]
            elif key in ("CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"):
                out[key[3:].lower()] = value[0] if value else ""
            elif key == "NoNewPrivs":
                out["noNewPrivs"] = int(value[0])
    return out


def namespaces():
    """The namespaces this process is in, as their /proc/self/ns link names."""
    out = {}
    for name in ("user", "mnt", "pid", "ipc", "net"):
        try:
            out[name] = os.readlink("/proc/self/ns/" + name)
        except OSError:
            pass
    return out


_SYS_CLOSE_RANGE = 436  # x86_64 and arm64 alike


def close_other_fds(keep):
    """Close every descriptor from 3 up but those in `keep`: whatever runwire or the zygote
    had open without CLOEXEC (a descriptor runwire inherited from whoever started it, say)
    never reaches user code. close_range(2) where the kernel has it (5.9+), else one close per
    descriptor /proc/self/fd lists."""
    low = 3
    for fd in sorted(set(keep)) + [None]:
        high = 0xFFFFFFFF if fd is None else fd - 1
        if high >= low:
            if _syscall(_SYS_CLOSE_RANGE, ctypes.c_uint(low), ctypes.c_uint(high), ctypes.c_uint(0)) != 0:
                for name in os.listdir("/proc/self/fd"):
                    n = int(name)
                    if low <= n <= high:
                        try:
                            os.close(n)
                        except OSError:
                            pass
        if fd is not None:
            low = fd + 1


def silence_output():
    """Point stdout and stderr at /dev/null: from here on what this process (user code, or
    a program it starts) writes to fd 1 or 2 goes nowhere, and cannot pass for one of runwire's
    log lines. The task's print() goes over its channel; its sys.stderr is captured."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)


def _blocked_ancestor(path):
    """The highest directory above `path` (or path itself) that a uid that is neither its owner
    nor in its group cannot pass through, None if there is none."""
    parts = path.strip("/").split("/")
    current = ""
    for part in parts:
        current += "/" + part
        try:
            mode = os.stat(current).st_mode
        except OSError:
            return None
        if not mode & 0o001:
            return current
    return None


def reveal(paths):
    """Make each of `paths` (the interpreter's directories) reachable for the task's uid in this
    process's own mount namespace: a directory above it that others cannot pass through (pyenv's
    /root, 0700) gets an empty tmpfs (0755) mounted over it, with each path inside bind-mounted
    back read-only. Needs CAP_SYS_ADMIN over the mount namespace (the zygote's, when runwire is
    root); does nothing where nothing is blocked. Returns the directories covered."""
    covered = {}
    for path in paths:
        top = _blocked_ancestor(path)
        if top is not None and top != path:
            covered.setdefault(top, []).append(path)
    if not covered:
        return []
    if _libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "mount --make-rprivate /")
    for top, inside in covered.items():
        held = [(p, os.open(p, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)) for p in inside]
        try:
            if _libc.mount(b"tmpfs", top.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, b"mode=0755,size=1m") != 0:
                raise OSError(ctypes.get_errno(), "mount tmpfs on " + top)
            for path, fd in held:
                os.makedirs(path, 0o755, exist_ok=True)
                source = ("/proc/self/fd/%d" % fd).encode()
                if _libc.mount(source, path.encode(), None, _MS_BIND | _MS_REC, None) != 0:
                    raise OSError(ctypes.get_errno(), "bind " + path)
                flags = _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV
                if _libc.mount(None, path.encode(), None, flags, None) != 0:
                    raise OSError(ctypes.get_errno(), "read-only " + path)
        finally:
            for _path, fd in held:
                os.close(fd)
    return sorted(covered)


def open_rules(readable):
    """The read rules, made once in the zygote so that each child only adds them: an O_PATH
    descriptor and its landlock_path_beneath_attr per path. Paths in /proc stay paths, opened by
    restrict in the child: its own /proc entry differs per child, and a task with namespaces
    has a procfs of its own mounted on /proc (taskns.mount_proc), which a rule on the zygote's
    would not cover. Returns (fd, attr) or a path, per path."""
    read = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
    out = []
    for path in readable:
        if path == "/proc" or path.startswith("/proc/"):
            out.append(path)
            continue
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        access = read if os.path.isdir(path) else _FS_READ_FILE | _FS_EXECUTE
        out.append((fd, _PathBeneathAttr(allowed_access=access, parent_fd=fd)))
    return tuple(out)


def restrict(writable, allow_network, readable=()):
    """Landlock this process and everything it starts: reads only beneath `readable` and
    `writable`, writes only beneath `writable` (and to /dev/null and /dev/full), no TCP unless
    allow_network, no signals or abstract sockets outside its own domain. Returns the ABI used
    and the number of rules, (0, 0) when Landlock is not available (nothing is restricted).
    Raises OSError when a rule or the restriction is refused on a kernel that has Landlock."""
    abi = landlock_abi()
    if abi < 1:
        return 0, 0
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
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    rules = 0
    try:
        _allow(ruleset, writable, fs)
        rules += 1
        for path in readable:
            if isinstance(path, tuple):
                fd, attr = path
                if _syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(attr), 0) != 0:
                    raise OSError(ctypes.get_errno(), "landlock_add_rule (descriptor %d)" % fd)
            else:
                _allow(ruleset, path, read if os.path.isdir(path) else _FS_READ_FILE | _FS_EXECUTE)
            rules += 1
        write = _FS_READ_FILE | _FS_WRITE_FILE | (_FS_TRUNCATE if abi >= 3 else 0)
        for path in write_files():
            _allow(ruleset, path, write)
            rules += 1
        if _prctl(_PR_SET_NO_NEW_PRIVS, 1) != 0:
            raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
        if _syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return abi, rules


def _allow(ruleset, path, access):
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        _add(ruleset, fd, access, path)
    finally:
        os.close(fd)


def _add(ruleset, fd, access, what):
    rule = _PathBeneathAttr(allowed_access=access, parent_fd=fd)
    if _syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_uint32(_RULE_PATH_BENEATH), ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
        raise OSError(ctypes.get_errno(), "landlock_add_rule " + what)
