"""Preparing a child's process for user code: resource limits, environment, the module
cache, importlib, and the builtins the code gets."""

import builtins
import importlib
import os
import resource
import sys
from time import perf_counter as _clock

import rules
from allowlist import STDLIB_NAMES, check_import, resolve_name
from callables import _GuardedImport, security_violation

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


class _PatchingLoader:
    """A module's own loader, then the patch registered for its name."""

    def __init__(self, loader, patch):
        self.loader = loader
        self.patch = patch

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        self.patch(module)

    def __getattr__(self, name):  # get_code, get_source, is_package, ...: the real loader's
        if name in ("loader", "patch"):
            raise AttributeError(name)
        return getattr(self.loader, name)


class PatchOnImport:
    """A sys.meta_path finder that applies a patch to a module each time it is loaded,
    whoever imports it (user code, or a library with the real __import__) and however often
    (clean_modules drops it, so the next import loads it afresh). It finds nothing itself:
    it asks the finders after it and wraps the loader of what they find.

    `tempfile` gets the child's private directory as its `tempdir` (the environment user
    code sees is empty: tempfile cannot learn it from TMPDIR), and `string` gets the checked
    Formatter.get_field (formatguard.harden_formatter)."""

    def __init__(self):
        self.tempdir = None  # the child's private temp dir, once it has one
        self.patches = {"tempfile": self._patch_tempfile}

    def add(self, name, patch):
        self.patches[name] = patch

    def _patch_tempfile(self, module):
        if self.tempdir is not None:
            module.tempdir = self.tempdir

    def find_spec(self, name, path=None, target=None):
        patch = self.patches.get(name)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader, patch)
                return spec
        return None

    def install(self):
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)


def clear_environment(block, keep):
    """With env access blocked, empty the environment except the names in `keep`."""
    if not block:
        return
    kept = {name: os.environ[name] for name in keep if name in os.environ}
    os.environ.clear()
    os.environ.update(kept)


def clean_modules(policy, own_modules, own_dir, preloaded=()):
    """Drop every module the allowlists do not cover from sys.modules, so that getting one
    back takes an import (which the guard checks). Kept: a few the interpreter needs, the
    allow-listed modules and their submodules; with stdlib `*` every stdlib module, with
    external `*` every non-stdlib module already loaded. Then runwire's own modules go,
    whatever the lists say, `__main__` becomes an empty module, and the runtime directory
    leaves sys.path. Returns the removed modules: holding on to them spares the child
    from tearing them down (user code cannot reach them).

    `preloaded` (every module loaded once the zygote's preloads ran: theirs, their
    dependencies, and what the interpreter had loaded before, which they may use) stays,
    whatever the allowlists say: a preloaded library that later imports a module, or looks
    one up in sys.modules (`warnings.catch_warnings` does, under pandas), must find the one
    it was loaded with, not fail or load a second copy (numpy's C extensions refuse to load
    twice). User code still cannot reach them: its imports ask the allowlists first, and its
    views (sys.modules included) hide what the allowlists do not cover."""
    modules = sys.modules
    keep = set(rules.ALWAYS_KEPT_MODULES)
    keep.update(preloaded)
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


def import_target(name, args, kwargs):
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
        target, anchor = import_target(_plain_str(name), args, kwargs)
        return check_import(policy, target, anchor)

    return check


class _ImportViews:
    """What the guarded imports hand user code: the view of the module an allowed import
    returned (see views.py), when it has none yet."""

    __slots__ = ("views", "by_module")

    def __init__(self, views):
        self.views = views
        self.by_module = views.by_module

    def __call__(self, result, name, args, kwargs):
        target, anchor = import_target(_plain_str(name), args, kwargs)
        if anchor and target.startswith("."):
            try:
                target = resolve_name(target, anchor)
            except (ImportError, ValueError):
                pass
        return self.views.imported(result, target)


def import_wrapper(views):
    """The wrapper the guarded imports apply to what they return, or None (no wrapping)
    when there are no views (both allowlists `*`)."""
    return None if views is None else _ImportViews(views)


class _Plain:
    """Calls the real entry point with a plain-str name (see _plain_str)."""

    __slots__ = ("real",)

    def __init__(self, real):
        self.real = real

    def __call__(self, name, *args, **kwargs):
        return self.real(_plain_str(name), *args, **kwargs)


class _PlainViewed:
    """_Plain, then the import wrapper: what user code gets for an allowed import."""

    __slots__ = ("real", "by_module", "wrap")

    def __init__(self, real, wrap):
        self.real = real
        self.by_module = wrap.by_module
        self.wrap = wrap

    def __call__(self, name, *args, **kwargs):
        result = self.real(_plain_str(name), *args, **kwargs)
        view = self.by_module.get(id(result))
        return view if view is not None else self.wrap(result, name, args, kwargs)


# What user code imported in this process (it runs one task): the name it asked for ->
# [the module's name, already in sys.modules before, seconds the import took]. The child
# reports it with the task's outcome (imports_noted).
_NOTED = {}
_MAX_NOTED = 64


class _Noting:
    """A user-code import entry point (`inner`, after the allowlist check) that notes, the
    first time each name is asked for, whether the module was loaded already and how long
    the import took."""

    __slots__ = ("inner",)

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, name, *args, **kwargs):
        key = _plain_str(name)
        if not isinstance(key, str) or key in _NOTED or len(_NOTED) >= _MAX_NOTED:
            return self.inner(name, *args, **kwargs)
        target, anchor = import_target(key, args, kwargs)
        if anchor and target.startswith("."):
            try:
                target = resolve_name(target, anchor)
            except (ImportError, ValueError):
                pass
        loaded = target in sys.modules
        start = _clock()
        result = self.inner(name, *args, **kwargs)
        _NOTED[key] = [target, loaded, _clock() - start]
        return result


def imports_noted():
    """What user code imported, for the child's imports frame: [{name, loaded, ms}]."""
    return [
        {"name": target[:200], "loaded": loaded, "ms": round(seconds * 1000, 3)}
        for target, loaded, seconds in _NOTED.values()
    ]


class _CheckedPlain:
    """_Plain after the import check: importlib's entry points called by library code, with
    transitive imports not allowed (the module is real: library code's own business)."""

    __slots__ = ("check", "real")

    def __init__(self, check, real):
        self.check = check
        self.real = real

    def __call__(self, name, *args, **kwargs):
        refusal = self.check(name, args, kwargs)
        if refusal is not None:
            raise security_violation(refusal)
        return self.real(_plain_str(name), *args, **kwargs)


def harden_importlib(policy, check, wrap=None):
    """importlib.import_module and importlib.__import__ ask the allowlists too, and hand
    user code module views (`wrap`: see import_wrapper). Library code calling them gets the
    real module, checked as before, or unchecked with transitive imports allowed."""
    for attribute, real in (
        ("import_module", _REAL_IMPORT_MODULE),
        ("__import__", _REAL_IMPORTLIB_IMPORT),
    ):
        plain = _Plain(real)
        if policy.transitive:
            library = plain
        elif wrap is not None:
            library = _CheckedPlain(check, real)
        else:
            library = None  # no views: every caller gets the same
        user = _Noting(plain if wrap is None else _PlainViewed(real, wrap))
        setattr(importlib, attribute, _GuardedImport(check, user, library=library))


def user_builtins(deny, check, wrap=None):
    """A copy of the builtins without the denied names and with a checking __import__ (that
    hands out module views: `wrap`, see import_wrapper).

    A plain dict: newer n8n versions wrap it in a read-only mapping on Python 3.13, but
    that makes every builtin lookup a Python-level call (about 2x slower on builtin-heavy
    loops) and protects nothing here: the mapping is only reachable through names and
    attributes the analyser blocks, and a change to it dies with this one-task process.
    (Python 3.9-3.12 could not run imports with a non-dict builtins anyway.)"""
    values = {name: value for name, value in vars(builtins).items() if name not in deny}
    real = _Plain(_REAL_IMPORT) if wrap is None else _PlainViewed(_REAL_IMPORT, wrap)
    values["__import__"] = _GuardedImport(check, _Noting(real))
    return values
