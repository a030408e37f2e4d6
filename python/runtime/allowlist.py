"""Which imports the allowlists permit (N8N_RUNNERS_STDLIB_ALLOW / N8N_RUNNERS_EXTERNAL_ALLOW).

A module is judged by its top-level package: `a.b.c` is decided by `a`. The top-level name is
standard library when the interpreter says so (sys.stdlib_module_names), external otherwise.
`*` in a list allows every module of that kind."""

import sys

import rules

if hasattr(sys, "stdlib_module_names"):
    STDLIB_NAMES = frozenset(sys.stdlib_module_names)
else:  # Python 3.9
    from stdlib_names import NAMES as STDLIB_NAMES


class Policy:
    """The import part of the sandbox configuration."""

    __slots__ = ("stdlib", "external", "stdlib_all", "external_all", "transitive")

    def __init__(self, stdlib, external, transitive=False):
        self.stdlib = frozenset(stdlib)
        self.external = frozenset(external)
        self.stdlib_all = "*" in self.stdlib
        self.external_all = "*" in self.external
        self.transitive = bool(transitive)

    @property
    def allows_everything(self):
        return self.stdlib_all and self.external_all


def _listing(names):
    return ", ".join(sorted(names)) if names else "none"


def resolve_name(name, package):
    """importlib.util.resolve_name (without importing importlib.util, which every process
    would then carry): `name` with its leading dots resolved against `package`."""
    if not name.startswith("."):
        return name
    if not package:
        raise ImportError(
            f"no package specified for {repr(name)} (required for relative module names)"
        )
    level = len(name) - len(name.lstrip("."))
    bits = package.rsplit(".", level - 1)
    if len(bits) < level:
        raise ImportError("attempted relative import beyond top-level package")
    rest = name[level:]
    return f"{bits[0]}.{rest}" if rest else bits[0]


def check_import(policy, module, anchor=None):
    """Decide an import of `module` (a dotted name). A leading-dot name is first resolved
    against the anchor package when one is given; if that fails it is judged as written.
    Returns None when allowed, else the explanation."""
    if anchor and module.startswith("."):
        try:
            module = resolve_name(module, anchor)
        except (ImportError, ValueError):
            pass
    top = module.split(".", 1)[0]
    if top in STDLIB_NAMES:
        if policy.stdlib_all or top in policy.stdlib:
            return None
        return rules.MSG_STDLIB_DISALLOWED.format(
            module=module, allowed=_listing(policy.stdlib)
        )
    if policy.external_all or top in policy.external:
        return None
    return rules.MSG_EXTERNAL_DISALLOWED.format(
        module=module, allowed=_listing(policy.external)
    )
