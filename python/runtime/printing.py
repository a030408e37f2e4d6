"""print() in user code, as n8n shows it in the browser console.

Each call becomes one entry: a list with one string per argument -
  str                          'text' (quoted, nothing escaped)
  None, int, float, bool       str(value)
  anything else                JSON (", " and ": " separators, non-ASCII kept, str() for
                               values JSON does not know)
  not encodable even so        [Circular <type name>]
Output is capped in bytes (UTF-8 of the text as shown), well below N8N_RUNNERS_MAX_PAYLOAD's
default and far above what n8n's editor shows (its first 100 entries):
  PRINT_MAX        256 KiB per print() call, over all its arguments
  TASK_PRINT_MAX   1 MiB per task, over all its print() calls
The argument that crosses a cap is cut there and ends with TRUNCATED; the arguments after it
show only TRUNCATED. A print() that comes once the task's cap is used up is not sent, and is
counted in the truncation entry like one past the entry limit (maxPrints).
Entries are streamed to runwire as they happen (up to the limits; the rest are counted for
the truncation entry). They are not echoed on stderr: a task's fd 1 and 2 are /dev/null
(walls.silence_output), so that nothing it writes can pass for a line of runwire's log.
"""

import json
import os

import rules


_to_json = json.JSONEncoder(ensure_ascii=False, default=str).encode  # default separators

PRINT_MAX = 256 << 10
TASK_PRINT_MAX = 1 << 20
TRUNCATED = "... [truncated]"


def _size(text):
    return len(text.encode("utf-8", "surrogatepass"))


def _cut(text, budget):
    """The longest start of text whose UTF-8 is at most budget bytes."""
    if len(text) > budget:
        text = text[:budget]  # a character is at least one byte
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= budget:
        return text
    for end in range(budget, max(budget - 4, -1), -1):  # not inside a character
        try:
            return data[:end].decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            continue
    return ""


def _fit(shown, budget):
    """shown within budget bytes; returns it and the bytes it takes."""
    out = []
    used = 0
    for text in shown:
        if used >= budget:
            out.append(TRUNCATED)
            continue
        size = _size(text)
        if used + size <= budget:
            out.append(text)
            used += size
            continue
        cut = _cut(text, budget - used)
        out.append(cut + TRUNCATED)
        used = budget
    return out, used


def format_args(args, budget=PRINT_MAX):
    """The entry for one print() call, at most budget bytes of text (plus the markers)."""
    return format_entry(args, budget)[0]


def format_entry(args, budget):
    """format_args, and the bytes of text the entry takes (markers not counted)."""
    shown = []
    for arg in args:
        if isinstance(arg, str):
            # Cut before quoting: a 300 MB string is not copied whole.
            shown.append(f"'{arg if len(arg) <= budget else arg[: budget + 1]}'")
            continue
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
    return _fit(shown, budget)


def truncation_entry(dropped):
    return ["[Output truncated - %d more print statements]" % dropped]


class Recorder:
    """Called with each print()'s arguments. `send(entry)` streams one entry: at most `limit`
    of them, and at most TASK_PRINT_MAX bytes in all."""

    __slots__ = ("send", "limit", "count", "sent", "left")

    def __init__(self, send, limit):
        self.send = send
        self.limit = limit
        self.count = 0
        self.sent = 0
        self.left = TASK_PRINT_MAX

    def __call__(self, args):
        # Formatted even when it is not sent: a failing repr() propagates, as in n8n.
        budget = min(PRINT_MAX, self.left) if self.sent < self.limit else 0
        entry, used = format_entry(args, budget)
        self.count += 1
        if budget > 0:
            self.sent += 1
            self.left -= used
            self.send(entry)

    def dropped(self):
        return self.count - self.sent


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
