"""Preparing a child's process for user code: resource limits, environment, the module
cache, importlib, and the builtins the code gets."""

import builtins
import importlib
import os
import resource
import sys

import rules
from allowlist import STDLIB_NAMES, check_import
from callables import _GuardedImport

_REAL_IMPORT = builtins.__import__
_REAL_IMPORT_MODULE = importlib.import_module
_REAL_IMPORTLIB_IMPORT = importlib.__import__

_LIMITS = (
    ("memoryBytes", resource.RLIMIT_AS),
    ("cpuSeconds", resource.RLIMIT_CPU),
    ("openFiles", resource.RLIMIT_NOFILE),
    ("fileSizeBytes", resource.RLIMIT_FSIZE),
)


def apply_limits(limits):
    """Lower each configured limit to its value; 0 or absent leaves it as it is, and a
    limit that cannot be set is left alone. The CPU limit keeps one more second of hard
    limit, so that reaching it is a SIGXCPU (exit code -24) rather than a SIGKILL that would
    look like the OOM killer. Core dumps are always off."""
    _lower(resource.RLIMIT_CORE, 0, 0)
    for key, which in _LIMITS:
        value = limits.get(key) if isinstance(limits, dict) else None
        if which is None or isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            continue
        _lower(which, value, value + 1 if which == resource.RLIMIT_CPU else value)


def _lower(which, soft, hard):
    try:
        _current_soft, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY:
            hard = min(hard, current_hard)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))
    except (OSError, ValueError):
        pass


def clear_environment(block, keep):
    """With env access blocked, empty the environment except the names in `keep`."""
    if not block:
        return
    kept = {name: os.environ[name] for name in keep if name in os.environ}
    os.environ.clear()
    os.environ.update(kept)


def clean_modules(policy, own_modules, own_dir):
    """Drop every module the allowlists do not cover from sys.modules, so that getting one
    back takes an import (which the guard checks). Kept: a few the interpreter needs, the
    allow-listed modules and their submodules; with stdlib `*` every stdlib module, with
    external `*` every non-stdlib module already loaded. Then runwire's own modules go,
    whatever the lists say, `__main__` becomes an empty module, and the runtime directory
    leaves sys.path. Returns the removed modules: holding on to them spares the child
    from tearing them down (user code cannot reach them)."""
    modules = sys.modules
    keep = set(rules.ALWAYS_KEPT_MODULES)
    keep.update(STDLIB_NAMES if policy.stdlib_all else policy.stdlib)
    if policy.external_all:
        keep.update(name for name in modules if name not in STDLIB_NAMES)
    else:
        keep.update(policy.external)

    def kept(name):
        if name in keep:
            return True
        dot = name.find(".")
        while dot != -1:
            if name[:dot] in keep:
                return True
            dot = name.find(".", dot + 1)
        return False

    removed = [modules.pop(name) for name in [name for name in modules if not kept(name)]]
    removed.extend(modules.pop(name) for name in own_modules if name in modules)
    removed.append(modules.get("__main__"))
    modules["__main__"] = type(sys)("__main__")
    while own_dir in sys.path:
        sys.path.remove(own_dir)
    sys.path_importer_cache.pop(own_dir, None)
    return removed


def _plain_str(value):
    # A str subclass could lie to the checks below; judge (and import) its plain value.
    return str.__str__(value) if isinstance(value, str) else value


def _import_target(name, args, kwargs):
    """(name, anchor package) to judge for an __import__ / import_module call: the
    `package` of import_module(name, package); for a relative __import__(name, globals,
    locals, fromlist, level) the importer's __package__, with the name rebuilt with its
    leading dots; otherwise no anchor."""
    package = kwargs.get("package")
    if isinstance(package, str):
        return name, _plain_str(package)
    if args and isinstance(args[0], str):
        return name, _plain_str(args[0])
    level = kwargs.get("level")
    if level is None and len(args) >= 4:
        level = args[3]
    if isinstance(level, int) and level > 0:
        importer = kwargs.get("globals")
        if importer is None and args and isinstance(args[0], dict):
            importer = args[0]
        anchor = importer.get("__package__") if isinstance(importer, dict) else None
        if isinstance(anchor, str) and anchor:
            return "." * level + name, _plain_str(anchor)
    return name, None


def import_checker(policy):
    def check(name, args, kwargs):
        if not isinstance(name, str):
            return None  # the real import refuses it with its own TypeError
        target, anchor = _import_target(_plain_str(name), args, kwargs)
        return check_import(policy, target, anchor)

    return check


class _Plain:
    """Calls the real entry point with a plain-str name (see _plain_str)."""

    __slots__ = ("real",)

    def __init__(self, real):
        self.real = real

    def __call__(self, name, *args, **kwargs):
        return self.real(_plain_str(name), *args, **kwargs)


def harden_importlib(policy, check):
    """importlib.import_module and importlib.__import__ ask the allowlists too. With
    transitive imports allowed, imports that library code makes through them are trusted."""
    importlib.import_module = _GuardedImport(
        check, _Plain(_REAL_IMPORT_MODULE), trusting=policy.transitive
    )
    importlib.__import__ = _GuardedImport(
        check, _Plain(_REAL_IMPORTLIB_IMPORT), trusting=policy.transitive
    )


def user_builtins(deny, check):
    """A copy of the builtins without the denied names and with a checking __import__.

    A plain dict: newer n8n versions wrap it in a read-only mapping on Python 3.13, but
    that makes every builtin lookup a Python-level call (about 2x slower on builtin-heavy
    loops) and protects nothing here: the mapping is only reachable through names and
    attributes the analyser blocks, and a change to it dies with this one-task process.
    (Python 3.9-3.12 could not run imports with a non-dict builtins anyway.)"""
    values = {name: value for name, value in vars(builtins).items() if name not in deny}
    values["__import__"] = _GuardedImport(check, _Plain(_REAL_IMPORT))
    return values
