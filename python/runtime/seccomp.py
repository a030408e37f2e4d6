"""The seccomp filter runwire compiled for every task (python/seccomp_program.go), installed by
each child as the last step of its set-up, right before its hello: from then on the calls on
runwire's list fail with EPERM (clone3 with ENOSYS) in the child and in everything it starts,
and user code sees an ordinary OSError.

The filter needs only no_new_privs, so it holds for root and non-root alike, with or without
namespaces. A child whose filter does not install exits before its hello: it never runs user
code without the filter it was given."""

import ctypes
import os

_PR_SET_NO_NEW_PRIVS = 38
_PR_GET_SECCOMP = 21
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_SOCK_FILTER_SIZE = 8  # struct sock_filter: u16 code, u8 jt, u8 jf, u32 k
_BPF_MAXINSNS = 4096

_libc = ctypes.CDLL(None, use_errno=True)
_prctl = _libc.prctl
_prctl.restype = ctypes.c_int


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class Filter:
    """The program from the zygote's config line ({"program": hex, "rules": N}), decoded once
    in the zygote, so that every child inherits it ready to install."""

    def __init__(self, value):
        if not isinstance(value, dict):
            raise ValueError("config.seccomp must be an object")
        program, rules = value.get("program"), value.get("rules")
        if not isinstance(program, str) or not isinstance(rules, int) or isinstance(rules, bool) or rules <= 0:
            raise ValueError("config.seccomp needs a hex program and a positive rule count")
        data = bytes.fromhex(program)
        count = len(data) // _SOCK_FILTER_SIZE
        if not data or len(data) % _SOCK_FILTER_SIZE or count > _BPF_MAXINSNS:
            raise ValueError("config.seccomp.program is not a seccomp program")
        self.rules = rules
        self._buffer = ctypes.create_string_buffer(data, len(data))
        self._fprog = _SockFprog(count, ctypes.cast(self._buffer, ctypes.c_void_p))

    def install(self):
        """Install the filter in this process (a child is single-threaded here) and return the
        number of rules it holds; raise OSError if the kernel did not take it."""
        zero = ctypes.c_ulong(0)
        if _prctl(_PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), zero, zero, zero) != 0:
            _raise("prctl(PR_SET_NO_NEW_PRIVS)")
        if _prctl(_PR_SET_SECCOMP, ctypes.c_ulong(_SECCOMP_MODE_FILTER), ctypes.byref(self._fprog), zero, zero) != 0:
            _raise("prctl(PR_SET_SECCOMP)")
        # Believe the kernel, not the return value: 2 is filter mode.
        if _prctl(_PR_GET_SECCOMP, zero, zero, zero, zero) != _SECCOMP_MODE_FILTER:
            raise OSError("seccomp: the filter is not in force after prctl(PR_SET_SECCOMP)")
        return self.rules


def _raise(what):
    errno = ctypes.get_errno()
    raise OSError(errno, "%s: %s" % (what, os.strerror(errno)))


def probe(filt):
    """Install the filter in a throwaway fork of this process; return None if the kernel took
    it, else why not. The zygote asks once, before its "ready", so that a kernel that refuses
    the filter stops Python tasks at start-up with words, rather than child after child
    exiting before its hello."""
    try:
        pid = os.fork()
    except OSError as error:
        return "could not fork to try the filter: %s" % error
    if pid == 0:
        code = 1
        try:
            filt.install()
            code = 0
        except OSError as error:
            code = 100 + min(error.errno or 0, 99)
        finally:
            os._exit(code)
    _pid, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        return None
    if 100 < code < 200:
        return "prctl refused it: %s" % os.strerror(code - 100)
    return "the trial process ended with code %d" % code
