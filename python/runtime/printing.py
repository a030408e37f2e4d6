"""print() in user code, as n8n shows it in the browser console.

Each call becomes one entry: a list with one string per argument -
  str                          'text' (quoted, nothing escaped)
  None, int, float, bool       str(value)
  anything else                JSON (", " and ": " separators, non-ASCII kept, str() for
                               values JSON does not know)
  not encodable even so        [Circular <type name>]
Entries are streamed to runwire as they happen (up to the limit; the rest are counted for
the truncation entry), and each call is echoed as a `[user code] ...` line on stderr (runwire's
debug log; an echo longer than one atomic pipe write is cut short there, nowhere else).
"""

import json
import os

import rules

_ECHO_MAX = 4096  # PIPE_BUF: one write, never interleaved with another child's lines
_ECHO_CUT = b"... [echo truncated]\n"

_to_json = json.JSONEncoder(ensure_ascii=False, default=str).encode  # default separators


def format_args(args):
    shown = []
    for arg in args:
        try:
            encoded = _to_json(arg)
        except Exception:
            repr(arg)  # as n8n, whose marker records repr(): a failing repr() propagates
            shown.append("[Circular %s]" % type(arg).__name__)
            continue
        if isinstance(arg, str):
            shown.append(f"'{arg}'")
        elif arg is None or isinstance(arg, (int, float, bool)):
            shown.append(str(arg))
        elif isinstance(arg, dict) and rules.CIRCULAR_MARKER_KEY in arg:
            shown.append("[Circular %s]" % (arg.get("__type__", "Object"),))
        else:
            shown.append(encoded)
    return shown


def truncation_entry(dropped):
    return ["[Output truncated - %d more print statements]" % dropped]


class Recorder:
    """Called with each print()'s arguments. `send(entry)` streams one entry."""

    __slots__ = ("send", "limit", "count")

    def __init__(self, send, limit):
        self.send = send
        self.limit = limit
        self.count = 0

    def __call__(self, args):
        entry = format_args(args)
        self.count += 1
        if self.count <= self.limit:
            self.send(entry)
        line = " ".join(["[user code]"] + [str(arg) for arg in args]) + "\n"
        data = line.encode("utf-8", "backslashreplace")
        if len(data) > _ECHO_MAX:
            data = data[: _ECHO_MAX - len(_ECHO_CUT)] + _ECHO_CUT
        _write_bytes(2, data)

    def dropped(self):
        return max(0, self.count - self.limit)


def _write_stderr(text):
    _write_bytes(2, text.encode("utf-8", "backslashreplace"))


def _write_bytes(fd, data):
    while data:
        try:
            n = os.write(fd, data)
        except InterruptedError:
            continue
        except OSError:
            return  # nobody reads our log any more: not the user's problem
        data = data[n:]
