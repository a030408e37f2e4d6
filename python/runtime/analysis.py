"""Static analysis of user code, before it runs (n8n's TaskAnalyzer rules).

analyse(code, policy) parses the code (a SyntaxError propagates) and returns the list of
violations, each `Line N: <explanation>`, in the order an AST walk meets them. (The caller
skips it entirely when both allowlists are `*`, as n8n does.)
"""

import ast

import rules
from allowlist import check_import
from formatguard import blocked_tokens

_BUILTINS_NAMES = frozenset({"__builtins__", "builtins"})


def _is_name_mangled(attr):
    # _Class__attr: starts with "_", has "__", and the part before the first "__" starts
    # with "_" as well.
    if not attr.startswith("_") or "__" not in attr:
        return False
    head = attr.split("__", 1)[0]
    return head.startswith("_")


def _concatenated_string(node):
    """The value of "a" + "b" + ... when every operand is a string constant, else None."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _concatenated_string(node.left)
        if left is None:
            return None
        right = _concatenated_string(node.right)
        return None if right is None else left + right
    return None


class _Checker(ast.NodeVisitor):
    def __init__(self, policy):
        self.policy = policy
        self.found = []
        self.seen_modules = set()
        self.called_attributes = set()  # ids of Attribute nodes that are a call's callee

    def flag(self, node, text):
        self.found.append("Line %d: %s" % (node.lineno, text))

    # ---- imports ----

    def check_module(self, node, module):
        if module.startswith("."):
            self.flag(node, rules.MSG_RELATIVE_IMPORT)
            return
        top = module.split(".", 1)[0]
        if top in self.seen_modules:
            return
        self.seen_modules.add(top)
        refusal = check_import(self.policy, module)
        if refusal is not None:
            self.flag(node, refusal)

    def check_alias(self, node, name):
        """A name an import binds or reads, as n8n judges it: a blocked name, else a
        blocked attribute. True when it was flagged."""
        if name in rules.BLOCKED_NAMES:
            self.flag(node, rules.MSG_BLOCKED_NAME.format(name=name))
        elif name in rules.BLOCKED_ATTRIBUTES:
            self.flag(node, rules.MSG_BLOCKED_ATTRIBUTE.format(attr=name))
        else:
            return False
        return True

    def visit_Import(self, node):
        for alias in node.names:
            self.check_module(node, alias.name)
            if alias.asname:
                self.check_alias(node, alias.asname)
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        if node.level:
            self.flag(node, rules.MSG_RELATIVE_IMPORT)
        elif node.module:
            self.check_module(node, node.module)
        for alias in node.names:
            # n8n's order: the alias first; the imported name only if the alias passed.
            if not (alias.asname and self.check_alias(node, alias.asname)):
                self.check_alias(node, alias.name)
        self.generic_visit(node)

    # ---- names and attributes ----

    def visit_Name(self, node):
        if node.id in rules.BLOCKED_NAMES:
            self.flag(node, rules.MSG_BLOCKED_NAME.format(name=node.id))
        self.generic_visit(node)

    def visit_Attribute(self, node):
        attr = node.attr
        if attr in rules.BLOCKED_ATTRIBUTES:
            self.flag(node, rules.MSG_BLOCKED_ATTRIBUTE.format(attr=attr))
        if attr in rules.FORMAT_METHODS and id(node) not in self.called_attributes:
            self.flag(node, rules.MSG_BOUND_FORMAT_METHOD.format(attr=attr))
        if _is_name_mangled(attr):
            self.flag(node, rules.MSG_NAME_MANGLED)
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        self.check_attribute_names(node)
        if isinstance(func, ast.Attribute) and func.attr in rules.FORMAT_METHODS:
            self.called_attributes.add(id(func))
        dynamic_import = (isinstance(func, ast.Name) and func.id == "__import__") or (
            isinstance(func, ast.Attribute)
            and func.attr == "__import__"
            and isinstance(func.value, ast.Name)
            and func.value.id in _BUILTINS_NAMES
        )
        if dynamic_import:
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                self.check_module(node, first.value)
            else:
                self.flag(node, rules.MSG_DYNAMIC_IMPORT)
        self.generic_visit(node)

    def visit_Subscript(self, node):
        target = node.value
        on_builtins = (isinstance(target, ast.Name) and target.id in _BUILTINS_NAMES) or (
            isinstance(target, ast.Attribute) and target.attr in _BUILTINS_NAMES
        )
        key = node.slice
        if (
            on_builtins
            and isinstance(key, ast.Constant)
            and isinstance(key.value, str)
            and key.value in rules.BLOCKED_ATTRIBUTES
        ):
            self.flag(node, rules.MSG_BLOCKED_ATTRIBUTE.format(attr=key.value))
        self.generic_visit(node)

    # ---- strings ----

    def check_string(self, node, text):
        # As n8n: a string is data; only the fields of a format template are looked at.
        for token in blocked_tokens(text):
            self.flag(node, rules.MSG_BLOCKED_STRING_PATTERN.format(attr=token))

    def check_attribute_names(self, call):
        """(runwire) A call that reads or writes an attribute *named by a string*
        (getattr, operator.attrgetter, functools.update_wrapper's `updated`, ...) may not be
        handed a blocked attribute as a constant: it is `x.__globals__` spelt differently.
        The string is judged where it is used, not wherever it appears as data."""
        func = call.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name not in rules.ATTRIBUTE_BY_NAME_CALLS:
            return
        positions, keywords = rules.ATTRIBUTE_BY_NAME_CALLS[name]
        values = [a for i, a in enumerate(call.args) if positions is None or i in positions]
        values.extend(k.value for k in call.keywords if k.arg in keywords)
        while values:
            value = values.pop()
            if isinstance(value, (ast.Tuple, ast.List, ast.Set)):
                values.extend(value.elts)
                continue
            text = _concatenated_string(value)
            if text is None:
                continue
            for part in text.split(".") if name in rules.DOTTED_ATTRIBUTE_CALLS else (text,):
                if part in rules.BLOCKED_ATTRIBUTES:  # what x.<part> would be refused for
                    self.flag(value, rules.MSG_BLOCKED_ATTRIBUTE.format(attr=part))
                elif name == "methodcaller" and part in rules.FORMAT_METHODS:
                    self.flag(value, rules.MSG_BOUND_FORMAT_METHOD.format(attr=part))

    def visit_Constant(self, node):
        if isinstance(node.value, str):
            self.check_string(node, node.value)
        self.generic_visit(node)

    def visit_BinOp(self, node):
        if isinstance(node.op, ast.Add):
            text = _concatenated_string(node)
            if text is not None:
                self.check_string(node, text)
        self.generic_visit(node)

    # ---- declarations that could shadow or rebind blocked names ----

    def visit_Global(self, node):
        for name in node.names:
            if name in rules.BLOCKED_NAMES:
                self.flag(node, rules.MSG_GLOBAL_BLOCKED.format(name=name))
        self.generic_visit(node)

    def visit_FunctionDef(self, node):
        if node.name in rules.BLOCKED_NAMES:
            self.flag(node, rules.MSG_FUNCTION_BLOCKED.format(name=node.name))
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        if node.name in rules.BLOCKED_NAMES:
            self.flag(node, rules.MSG_CLASS_BLOCKED.format(name=node.name))
        self.generic_visit(node)

    def visit_ExceptHandler(self, node):
        if node.name and node.name in rules.BLOCKED_NAMES:
            self.flag(node, rules.MSG_BLOCKED_NAME.format(name=node.name))
        self.generic_visit(node)

    def visit_arg(self, node):
        if node.arg in rules.BLOCKED_NAMES:
            self.flag(node, rules.MSG_PARAMETER_BLOCKED.format(name=node.arg))
        self.generic_visit(node)

    # ---- structural pattern matching (3.10+) ----

    def visit_MatchClass(self, node):
        if node.patterns:
            self.flag(node, rules.MSG_MATCH_POSITIONAL)
        for attr in node.kwd_attrs:
            if attr in rules.BLOCKED_ATTRIBUTES:
                self.flag(node, rules.MSG_MATCH_ATTRIBUTE.format(attr=attr))
        self.generic_visit(node)


def analyse(code, policy):
    """Violations found in `code` ([] when it may run). Raises SyntaxError for code that
    does not parse."""
    tree = ast.parse(code)
    checker = _Checker(policy)
    checker.visit(tree)
    return checker.found
