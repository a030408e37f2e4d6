"""Entry point of runwire's warm Python process: `python -I -S -B zygote.py`.

It puts its own directory on sys.path, has the runtime compiled to bytecode by a short-lived
fork of itself, then runs forkserver.main(), which loads that bytecode. Compiling source takes
several times the memory its result does, and a process keeps most of that once used: done
here, it would stay in the zygote and be mapped into every child it forks. (-B stops imports
from writing bytecode, not from reading it.) This file stays small: as the script, it is the
one module compiled from source in the zygote itself.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))

# The standard library the runtime needs most of its start-up time for, imported here while the
# fork compiles (on another core, where there is one). A name missing from this list only
# costs that overlap.
_STDLIB = ("json", "ast", "ctypes")


def _compile_runtime():
    """Fork a process that writes __pycache__/<module>.<tag>.pyc for each module, as an import
    would, and return its pid (None if there is none: the imports then compile the sources)."""
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid:
        return pid
    code = 1
    try:
        import _frozen_importlib_external as bootstrap  # importlib's own, loaded at start-up

        os.makedirs(os.path.join(_HERE, "__pycache__"), 0o700, exist_ok=True)
        for name in os.listdir(_HERE):
            if not name.endswith(".py") or name == "zygote.py":
                continue
            path = os.path.join(_HERE, name)
            with open(path, "rb") as source:
                data = source.read()
            stat = os.stat(path)
            compiled = compile(data, path, "exec", dont_inherit=True)
            pyc = bootstrap._code_to_timestamp_pyc(compiled, int(stat.st_mtime), stat.st_size)
            bootstrap._write_atomic(bootstrap.cache_from_source(path), pyc, 0o600)
        code = 0
    finally:
        os._exit(code)


sys.path.insert(0, _HERE)  # -I leaves it out
_compiler = _compile_runtime()
for _name in _STDLIB:
    __import__(_name)
if _compiler is not None:
    os.waitpid(_compiler, 0)

import forkserver  # noqa: E402

forkserver.main()
