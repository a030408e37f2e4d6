"""Module views: what user code holds instead of a module object.

A module the allowlists cover still reaches, through its attributes, modules they do not
(`json.decoder.re`, `sys.modules["importlib"]._bootstrap_external._os`). So user code never
holds a real module: the guarded imports and `sys.modules` hand it a view, whose attribute
lookups return the module's own attributes except that one that is itself a module comes
back as a view when the allowlists cover that module, and is refused otherwise, with the
error a refused import gives (`Security violation detected`, the allowlist text as the
description). A module is covered when its name is importable under the allowlists
(`check_import`), or when it is registered in sys.modules under a covered name as that
attribute (`os.path`, which is `posixpath`).

A view reads the module live (no copy goes stale) and writes through to it (user code may set
a module attribute, as it could before); it poses as a module (`__class__`, `isinstance`,
`repr`, error messages), hides the real object (kept here, keyed by the view, not in the
view), refuses `__builtins__`, `__loader__` and `__spec__` (the real builtins, and loaders that
load any module), and gives `__dict__` (`vars()`) as a copy with the uncovered modules left
out. The view of `sys` gives `sys.modules` as a read-only mapping of the covered modules (as
views) and refuses the import machinery that loads modules without an import (`meta_path`,
`path_hooks`, `path_importer_cache`) and `addaudithook` (whose import events carry them).
What it does not cover: "Module views" in README.md.
"""

import sys

import rules
from allowlist import check_import
from callables import SecurityViolationError, security_violation

_ModuleType = type(sys)
_object_getattribute = object.__getattribute__

# Module attributes a view refuses: the real builtins (with the real __import__) and the
# import machinery (a loader loads any module). The analyser blocks them as names already.
_REFUSED = frozenset({"__builtins__", "__loader__", "__spec__"})

# What a module has from its type rather than its namespace (methods bound to it, which would
# hand out the real module or its real namespace): a view answers these itself. __class__,
# __dict__, __doc__ and __annotations__ are handled apart.
_OWN = frozenset(dir(_ModuleType)) - {"__class__", "__dict__", "__doc__", "__annotations__"}

# AttributeError takes name= and obj= (3.10+).
_ATTRIBUTE_ERROR_NAME = sys.version_info >= (3, 10)

# sys attributes that load modules without an import, or hand out what does.
_SYS_REFUSED = frozenset({"meta_path", "path_hooks", "path_importer_cache", "addaudithook"})


def _plain_name(value):
    return str.__str__(value) if isinstance(value, str) else None


class Views:
    """The views of one process, for one policy. Build it with `for_policy`."""

    def __init__(self, policy):
        self.policy = policy
        self.by_module = {}  # id(real module) -> its view (the state keeps the module alive)
        self.state = {}  # view -> (real module, its namespace, the covered name)
        self.sys_special = {}  # name -> value, for the view of sys
        self.view_class, self.sys_view_class, self.modules_class = _classes(self)

    # ---- deciding ----

    def refusal(self, name):
        return check_import(self.policy, name)

    def of(self, module, name):
        """The view of `module` (a real module the allowlists cover under `name`)."""
        view = self.by_module.get(id(module))
        if view is not None:
            return view
        cls = self.sys_view_class if module is sys else self.view_class
        view = object.__new__(cls)
        self.state[view] = (module, module.__dict__, name)
        self.by_module[id(module)] = view
        return view

    def attribute(self, module, parent, attr):
        """What user code gets for attribute `attr` (a module) of the module covered as
        `parent`: its view, or the import refusal."""
        view = self.by_module.get(id(module))
        if view is not None:
            return view
        name = _plain_name(getattr(module, "__name__", None))
        if name is not None and self.refusal(name) is None:
            return self.of(module, name)
        registered = "%s.%s" % (parent, attr)
        if sys.modules.get(registered) is module and self.refusal(registered) is None:
            return self.of(module, registered)
        text = self.refusal(name) if name is not None else None
        raise security_violation(text or rules.MSG_BLOCKED_ATTRIBUTE.format(attr=attr))

    def registered(self, value, key):
        """sys.modules[key] for user code (key covered)."""
        if issubclass(type(value), _ModuleType):
            return self.of(value, key)
        return value

    def imported(self, module, requested):
        """The view of what an allowed import of `requested` (resolved) returned."""
        if not issubclass(type(module), _ModuleType):
            return module
        view = self.by_module.get(id(module))
        if view is not None:
            return view
        name = _plain_name(getattr(module, "__name__", None))
        if name is not None and self.refusal(name) is None:
            return self.of(module, name)
        refusal = self.refusal(requested)
        if refusal is not None:
            raise security_violation(refusal)
        return self.of(module, requested)

    def namespace(self, view):
        """A view's __dict__: a copy of the module's namespace as user code may see it."""
        real, namespace, name = self.state[view]
        special = self.sys_special if real is sys else None
        out = {}
        for key, value in list(namespace.items()):
            if key in _REFUSED:
                continue
            if special is not None and key in special:
                value = special[key]
                if value is None:
                    continue
            elif issubclass(type(value), _ModuleType):
                try:
                    value = self.attribute(value, name, key)
                except SecurityViolationError:  # a refused module is left out
                    continue
            out[key] = value
        return out


def _classes(views):
    state = views.state
    by_module = views.by_module
    attribute = views.attribute
    sys_special = views.sys_special
    modules = sys.modules
    refusal = views.refusal
    ModuleType = _ModuleType
    object_getattribute = _object_getattribute
    refused = _REFUSED
    own = _OWN

    def missing(view, real, namespace, covered, name):
        if name == "__class__":
            return ModuleType
        if name == "__dict__":
            return views.namespace(view)
        if name in own:
            return object_getattribute(view, name)
        try:
            return getattr(real, name)  # a module __getattr__, or the module's own error
        except AttributeError as error:
            # As `from m import x` would on this error, look in sys.modules, but through
            # the filter; the error goes without `obj` (the real module).
            parent = namespace.get("__name__")
            if isinstance(parent, str):
                value = modules.get("%s.%s" % (str.__str__(parent), name))
                if value is not None:
                    return value
            if _ATTRIBUTE_ERROR_NAME:
                raise AttributeError(*error.args, name=error.name, obj=view) from None
            raise AttributeError(*error.args) from None

    class module:
        """A module as user code sees it (see views.py)."""

        __slots__ = ("__weakref__",)

        def __getattribute__(self, name):
            real, namespace, covered = state[self]
            try:
                value = namespace[name]
            except KeyError:
                value = missing(self, real, namespace, covered, name)
            else:
                if name in refused:
                    raise security_violation(rules.MSG_BLOCKED_ATTRIBUTE.format(attr=name))
            if issubclass(type(value), ModuleType):
                view = by_module.get(id(value))
                return view if view is not None else attribute(value, covered, name)
            return value

        def __setattr__(self, name, value):
            setattr(state[self][0], name, value)

        def __delattr__(self, name):
            delattr(state[self][0], name)

        def __dir__(self):
            return list(views.namespace(self))

        def __repr__(self):
            return repr(state[self][0])

        def __reduce_ex__(self, protocol):
            raise TypeError("cannot pickle 'module' object")

        def __reduce__(self):
            raise TypeError("cannot pickle 'module' object")

    class sys_module(module):
        __slots__ = ()

        def __getattribute__(self, name):
            if name in sys_special:
                value = sys_special[name]
                if value is None:
                    raise security_violation(rules.MSG_BLOCKED_ATTRIBUTE.format(attr=name))
                return value
            return module.__getattribute__(self, name)

    class mappingproxy:
        """sys.modules as user code sees it: read-only, covered modules only, as views."""

        __slots__ = ("__weakref__",)

        def __getitem__(self, key):
            if not isinstance(key, str):
                raise KeyError(key)
            key = str.__str__(key)
            text = refusal(key)
            if text is not None:
                raise security_violation(text)
            return views.registered(modules[key], key)

        def get(self, key, default=None):
            return self[key] if key in self else default

        def __contains__(self, key):
            if not isinstance(key, str):
                return False
            key = str.__str__(key)
            return key in modules and refusal(key) is None

        def _covered(self):
            return {
                key: views.registered(value, key)
                for key, value in list(modules.items())
                if isinstance(key, str) and refusal(key) is None
            }

        def __iter__(self):
            return iter(self._covered())

        def __len__(self):
            return len(self._covered())

        def keys(self):
            return self._covered().keys()

        def values(self):
            return self._covered().values()

        def items(self):
            return self._covered().items()

        def copy(self):
            return self._covered()

        def __eq__(self, other):
            return self._covered() == other

        __hash__ = None

        def __repr__(self):
            return repr(self._covered())

        def __reduce_ex__(self, protocol):
            raise TypeError("cannot pickle 'mappingproxy' object")

        def __reduce__(self):
            raise TypeError("cannot pickle 'mappingproxy' object")

    for cls in (module, sys_module):
        cls.__name__ = cls.__qualname__ = "module"
        cls.__module__ = "builtins"
    mappingproxy.__qualname__ = "mappingproxy"
    mappingproxy.__module__ = "builtins"
    sys_special["modules"] = object.__new__(mappingproxy)
    for name in _SYS_REFUSED:
        sys_special[name] = None
    return module, sys_module, mappingproxy


def for_policy(policy):
    """The views for `policy`, or None when it allows every module (nothing to hide)."""
    if policy.allows_everything:
        return None
    return Views(policy)
