"""The objects user code holds: `print`, `__import__` (and importlib's import entry points),
the format guard, and the exception the guards raise.

They pose as builtin functions: every attribute read, write or delete is refused with the
error a builtin function gives for a missing attribute, so the wrapped implementation and
its configuration (kept in slots) cannot be reached by introspection. This module imports as
little as possible and, once loaded, narrows its own builtins, so that whatever reaches its
namespace finds nothing useful there.
"""

from rules import BLOCKED_ATTRIBUTES as _BLOCKED, USER_CODE_FILENAMES as _USER_FILES
import sys as _sys

_frame = _sys._getframe
del _sys

_POSE_AS = "builtin_function_or_method"

_HIDDEN = frozenset(_BLOCKED) | frozenset(
    {
        "__call__",
        "__init__",
        "__new__",
        "__doc__",
        "__dir__",
        "__subclasshook__",
        "__repr__",
        # not blocked in user code (they lead nowhere there), but nothing to show here
        "__prepare__",
        "__instancecheck__",
        "__subclasscheck__",
        "__match_args__",
    }
)


def _no_attribute(name):
    return AttributeError("'%s' object has no attribute %r" % (_POSE_AS, name))


class SecurityViolationError(Exception):
    """Raised into user code by a runtime guard. `description` carries the explanation
    (set after construction, so the class has no Python-level methods to introspect)."""

    description = ""


def security_violation(description):
    error = SecurityViolationError("Security violation detected")
    error.description = description
    return error


class _Hardened:
    __slots__ = ()
    _HIDE = _HIDDEN

    def __getattribute__(self, name):
        if name in object.__getattribute__(type(self), "_HIDE"):
            raise _no_attribute(name)
        try:
            return object.__getattribute__(self, name)
        except AttributeError:
            raise _no_attribute(name) from None

    def __setattr__(self, name, value):
        raise _no_attribute(name)

    def __delattr__(self, name):
        raise _no_attribute(name)


class _SafePrint(_Hardened):
    """print(*args): records one console entry per call. Like n8n's, it takes positional
    arguments only (print(x, end='') is a TypeError there too)."""

    __slots__ = ("_record",)
    _HIDE = _HIDDEN | frozenset(__slots__)

    def __init__(self, record):
        object.__setattr__(self, "_record", record)

    def __call__(self, *args):
        object.__getattribute__(self, "_record")(args)

    def __repr__(self):
        return "<built-in function print>"


class _GuardedImport(_Hardened):
    """An import entry point that asks the allowlists first.

    `check(name, args, kwargs)` returns None or the refusal text; `real` makes an allowed
    import and returns what user code gets for it (a module view: see views.py). When
    `library` is given (importlib's entry points), an import whose immediate caller is not
    the user's code goes to it instead: it returns the real module, after the same check, or
    unchecked when transitive imports are allowed."""

    __slots__ = ("_check", "_real", "_library")
    _HIDE = _HIDDEN | frozenset(__slots__)

    def __init__(self, check, real, library=None):
        object.__setattr__(self, "_check", check)
        object.__setattr__(self, "_real", real)
        object.__setattr__(self, "_library", library)

    def __call__(self, name, *args, **kwargs):
        library = object.__getattribute__(self, "_library")
        if library is not None:
            try:
                caller = _frame(1).f_code.co_filename
            except ValueError:
                caller = None
            if caller is not None and caller not in _USER_FILES:
                return library(name, *args, **kwargs)
        refusal = object.__getattribute__(self, "_check")(name, args, kwargs)
        if refusal is not None:
            raise security_violation(refusal)
        return object.__getattribute__(self, "_real")(name, *args, **kwargs)

    def __repr__(self):
        return "<built-in function __import__>"


class _FormatGuard(_Hardened):
    """Stands in for every s.format(...)-style call in user code (the compiler rewrites them
    to guard('format', s, ...)); the template is checked before the real method runs."""

    __slots__ = ("_run",)
    _HIDE = _HIDDEN | frozenset(__slots__)

    def __init__(self, run):
        object.__setattr__(self, "_run", run)

    def __call__(self, method, receiver, /, *args, **kwargs):
        return object.__getattribute__(self, "_run")(method, receiver, *args, **kwargs)

    def __repr__(self):
        return "<built-in function format>"


def _narrow_builtins():
    import builtins

    keep = ("object", "type", "repr", "AttributeError", "ValueError", "Exception")
    return {name: getattr(builtins, name) for name in keep}


# Last: everything above ran against the real builtins; whoever reads this namespace later
# gets only these.
__builtins__ = _narrow_builtins()
