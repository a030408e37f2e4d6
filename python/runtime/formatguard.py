"""Format-string hardening.

str.format and friends resolve `{0.attr}` and `{0[key]}` fields by attribute and item
access, which would reach what the analyser forbids (`'{0.__class__}'.format(x)`). Three
parts deal with it:

- blocked_tokens() lists the blocked attributes/names a template's fields reach (also in
  nested format specs); the analyser applies it to every string constant;
- RewriteFormatCalls turns every `x.format(...)`, `.format_map`, `.vformat`, `.get_field`
  call in user code into a call of the format guard;
- checked_format() is what the guard runs: it finds the template (or field) among the
  call's arguments, refuses it if it reaches a blocked token, then makes the real call;
- harden_formatter() replaces string.Formatter.get_field, the one place where every
  entry point of string.Formatter (format, vformat, the private _vformat, and any parse,
  get_value or format_field a subclass or user code puts in place) walks a field's
  attributes and items, by a walk that refuses the blocked ones itself. So what the
  Formatter's other methods return does not matter: the walk does not trust them.
"""

import _string
import ast
import collections
import re

import rules
from callables import security_violation

_parse_template = _string.formatter_parser  # what string.Formatter().parse calls
_FIELD_ATTRIBUTE = re.compile(r"\.(\w+)")
_FIELD_ITEM = re.compile(r"\[(['\"]?)(\w+)\1\]")
_FORBIDDEN = rules.BLOCKED_ATTRIBUTES | rules.BLOCKED_NAMES


def blocked_tokens(template):
    """Yield each blocked attribute or name a str.format template's fields access."""
    try:
        pieces = list(_parse_template(template))
    except (ValueError, IndexError):
        return  # not a valid template: str.format would refuse it too
    for _text, field, spec, _conversion in pieces:
        if field is not None:
            for match in _FIELD_ATTRIBUTE.finditer(field):
                if match.group(1) in _FORBIDDEN:
                    yield match.group(1)
            for match in _FIELD_ITEM.finditer(field):
                if match.group(2) in _FORBIDDEN:
                    yield match.group(2)
        if spec:
            yield from blocked_tokens(spec)


def _refuse_if_blocked(template):
    for token in blocked_tokens(template):
        raise security_violation(rules.MSG_BLOCKED_STRING_PATTERN.format(attr=token))


class RewriteFormatCalls(ast.NodeTransformer):
    """`recv.format(a, k=v)` -> `<guard>('format', recv, a, k=v)`, innermost calls first."""

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in rules.FORMAT_METHODS:
            guard = ast.Name(id=rules.FORMAT_GUARD_KEY, ctx=ast.Load())
            call = ast.Call(
                func=guard,
                args=[ast.Constant(value=func.attr), func.value] + list(node.args),
                keywords=node.keywords,
            )
            return ast.copy_location(call, node)
        return node


def _template_of(method, receiver, args):
    """(template, field): what a format-style call will interpret, when it is a string."""
    wants_template = method in rules.FORMAT_TEMPLATE_METHODS
    wants_field = method in rules.FORMAT_FIELD_METHODS
    if not (wants_template or wants_field):
        return None, None
    if wants_template:
        if isinstance(receiver, str):
            return receiver, None
        if isinstance(receiver, collections.UserString):
            return receiver.data, None
    if isinstance(receiver, type):  # an unbound call: str.format(t, ...), Formatter.format(f, t)
        if issubclass(receiver, str):
            candidate = args[0] if args else None
        elif wants_template and issubclass(receiver, collections.UserString):
            first = args[0] if args else None
            candidate = first.data if isinstance(first, collections.UserString) else None
        else:
            candidate = args[1] if len(args) > 1 else None
    else:  # a Formatter (or any object with such a method): the template comes first
        candidate = args[0] if args else None
    if not isinstance(candidate, str):
        return None, None
    return (None, candidate) if wants_field else (candidate, None)


def checked_format(method, receiver, *args, **kwargs):
    template, field = _template_of(method, receiver, args)
    if template is not None:
        _refuse_if_blocked(template)
    if field is not None:
        _refuse_if_blocked("{" + field + "}")
    return getattr(receiver, method)(*args, **kwargs)


def _checked_get_field(self, field_name, args, kwargs):
    """string.Formatter.get_field, refusing a blocked attribute or item in the field."""
    first, rest = _string.formatter_field_name_split(field_name)
    reached = self.get_value(first, args, kwargs)
    for is_attribute, key in rest:
        if isinstance(key, str) and key in _FORBIDDEN:
            raise security_violation(rules.MSG_BLOCKED_STRING_PATTERN.format(attr=key))
        reached = getattr(reached, key) if is_attribute else reached[key]
    return reached, first


_checked_get_field.__name__ = "get_field"
_checked_get_field.__qualname__ = "Formatter.get_field"


def harden_formatter(string_module):
    """Put the checked field walk into a freshly loaded `string` module's Formatter (the
    zygote does it for every load of `string`: sandbox.PatchOnImport)."""
    formatter = getattr(string_module, "Formatter", None)
    if isinstance(formatter, type):
        formatter.get_field = _checked_get_field
