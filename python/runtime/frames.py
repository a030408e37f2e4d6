"""The child's channel to runwire: frames of a 4-byte big-endian length (> 0) followed by that
many bytes of UTF-8 JSON, over one unix-socket connection."""

import _socket  # not socket: its Python layer (enums, selectors) would sit in every process
import _thread
import json

MAX_FRAME = 0xFFFFFFFF

_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_compact_ascii = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))


class ChannelClosed(Exception):
    """runwire closed the connection (for example: no task will come)."""


def encode(message):
    """JSON bytes of a protocol message made of plain values. Text that cannot be UTF-8
    (lone surrogates) is sent \\u-escaped instead of failing."""
    try:
        return _compact.encode(message).encode("utf-8")
    except UnicodeEncodeError:
        return _compact_ascii.encode(message).encode("ascii")


class Channel:
    def __init__(self, path):
        self.sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        self.sock.connect(path)
        self.lock = _thread.allocate_lock()  # user code may print from threads

    def send_parts(self, parts):
        """One frame whose body is the concatenation of `parts` (bytes)."""
        size = sum(len(part) for part in parts)
        if not 0 < size <= MAX_FRAME:
            raise ValueError("frame size out of range: %d" % size)
        head = size.to_bytes(4, "big")
        with self.lock:
            if size < 65536:  # one write for the usual small frame
                self.sock.sendall(head + b"".join(parts))
            else:  # no copy of a big body
                self.sock.sendall(head)
                for part in parts:
                    self.sock.sendall(part)

    def send(self, message):
        self.send_parts((encode(message),))

    def _read_exactly(self, size):
        buf = bytearray(size)
        view = memoryview(buf)
        got = 0
        while got < size:
            n = self.sock.recv_into(view[got:], size - got)
            if n == 0:
                raise ChannelClosed()
            got += n
        return buf

    def receive(self):
        size = int.from_bytes(self._read_exactly(4), "big")
        if size == 0:
            raise ValueError("empty frame from runwire")
        return json.loads(self._read_exactly(size))
