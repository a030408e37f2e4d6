"""The sandbox's fixed vocabulary: blocked names and attributes, reserved globals, file names
and every user-visible message text. The texts are n8n's, word for word; runwire's own
additions are marked."""

# Names user code gets while it runs.
OUTPUT_KEY = "__n8n_internal_user_output__"  # receives the wrapped function's return value
FORMAT_GUARD_KEY = "__n8n_internal_safe_format__"  # the checked str.format entry point
CIRCULAR_MARKER_KEY = "__n8n_internal_circular_ref__"  # print(): "could not be encoded"

# File names the user's code is compiled under. The import guard uses them to tell the
# user's own frames from library frames.
ALL_ITEMS_FILENAME = "<all_items_task_execution>"
PER_ITEM_FILENAME = "<per_item_task_execution>"
USER_CODE_FILENAMES = frozenset({ALL_ITEMS_FILENAME, PER_ITEM_FILENAME})

MAX_PRINTS_DEFAULT = 100

# Names user code may not mention at all (as a name, a string, an alias, a parameter...).
BLOCKED_NAMES = frozenset(
    {
        "__loader__",
        "__builtins__",
        "__globals__",
        "__spec__",
        "__name__",
        FORMAT_GUARD_KEY,
    }
)

# Attributes user code may not read or write (statically), and that the hardened callables
# refuse at run time.
BLOCKED_ATTRIBUTES = frozenset(
    {
        # frames, tracebacks, generators and coroutines
        "__traceback__",
        "tb_frame",
        "tb_next",
        "f_back",
        "f_globals",
        "f_locals",
        "f_code",
        "f_builtins",
        "gi_frame",
        "gi_code",
        "gi_yieldfrom",
        "cr_frame",
        "cr_code",
        "ag_frame",
        "ag_code",
        # functions, methods and modules
        "__globals__",
        "__builtins__",
        "__code__",
        "__closure__",
        "__self__",
        "__func__",
        "__wrapped__",
        "__annotations__",
        "__qualname__",
        "__module__",
        "__loader__",
        "__cached__",
        "__spec__",
        "__import__",
        "__dict__",
        # the type system
        "__class__",
        "__base__",
        "__bases__",
        "__mro__",
        "__subclasses__",
        "__init_subclass__",
        "__thisclass__",
        "__self_class__",
        # (runwire) a method descriptor's class: str.__init__.__objclass__ is `object`, the
        # denied builtin n8n keeps out of reach by blocking __class__ and __base__
        "__objclass__",
        # (runwire) [].append.__reduce_ex__(2)[0] is the real getattr, a denied builtin
        "__reduce__",
        "__reduce_ex__",
        "__getattribute__",
        "__getattr__",
        "__setattr__",
        "__delattr__",
        # AttributeError.obj
        "obj",
    }
)

# (runwire) Calls that take an attribute's name as a string: a blocked attribute (or name)
# given to one of them as a constant is refused where it is used (analysis.py), since
# `operator.attrgetter("__globals__")(f)` is `f.__globals__`. Strings elsewhere are data.
# attrgetter also reads dotted paths ("a.__globals__").
# callee name -> (positions of the name arguments, None = all; their keyword names).
ATTRIBUTE_BY_NAME_CALLS = {
    "getattr": ((1,), ()),
    "setattr": ((1,), ()),
    "delattr": ((1,), ()),
    "hasattr": ((1,), ()),
    "getattr_static": ((1,), ("attr",)),
    "attrgetter": (None, ()),
    "methodcaller": ((0,), ()),
    "update_wrapper": ((2, 3), ("assigned", "updated")),
    "wraps": ((1, 2), ("assigned", "updated")),
}
DOTTED_ATTRIBUTE_CALLS = frozenset({"attrgetter"})

# str.format-style entry points: calls to them are routed through the format guard, and
# taking one as a bound method (f = s.format) is refused.
FORMAT_METHODS = frozenset({"format", "format_map", "vformat", "get_field"})
FORMAT_TEMPLATE_METHODS = frozenset({"format", "format_map", "vformat"})
FORMAT_FIELD_METHODS = frozenset({"get_field"})

# Denied builtins when N8N_RUNNERS_BUILTINS_DENY is not set (runwire's Go side sends the list).
BUILTINS_DENY_DEFAULT = (
    "eval,exec,compile,open,input,breakpoint,getattr,object,type,vars,setattr,delattr,"
    "hasattr,dir,memoryview,__build_class__,globals,locals,license,help,credits,copyright"
)

# Modules that stay imported in every task whatever the allowlists say.
ALWAYS_KEPT_MODULES = frozenset(
    {
        "builtins",
        "__main__",
        "sys",
        "traceback",
        "linecache",
        "importlib",
        "importlib.machinery",
    }
)

# ---- messages -------------------------------------------------------------------------------

SECURITY_VIOLATIONS = "Security violations detected"  # static analysis, one line per finding
SECURITY_VIOLATION = "Security violation detected"  # a runtime guard refused something

MSG_RELATIVE_IMPORT = "Relative imports are disallowed."
MSG_STDLIB_DISALLOWED = (
    "Import of standard library module '{module}' is disallowed. "
    "Allowed stdlib modules: {allowed}"
)
MSG_EXTERNAL_DISALLOWED = (
    "Import of external package '{module}' is disallowed. "
    "Allowed external packages: {allowed}"
)
MSG_BLOCKED_NAME = (
    "Access to name '{name}' is disallowed, because it can be used to bypass "
    "security restrictions."
)
MSG_BLOCKED_ATTRIBUTE = (
    "Access to attribute '{attr}' is disallowed, because it can be used to bypass "
    "security restrictions."
)
MSG_BLOCKED_STRING_PATTERN = (
    "String pattern accessing '{attr}' is disallowed, because it can be used to bypass "
    "security restrictions."
)
MSG_NAME_MANGLED = (
    "Access to name-mangled attributes (pattern: _ClassName__attr) is disallowed for "
    "security reasons."
)
MSG_DYNAMIC_IMPORT = "Dynamic __import__() calls are not allowed for security reasons."
MSG_MATCH_ATTRIBUTE = (
    "Match pattern extracting attribute '{attr}' is disallowed, because it can be used to "
    "bypass security restrictions."
)
MSG_MATCH_POSITIONAL = "Positional match patterns are disallowed for security reasons."
MSG_GLOBAL_BLOCKED = (
    "Global declaration of '{name}' is disallowed, because it can be used to bypass "
    "security restrictions."
)
MSG_FUNCTION_BLOCKED = (
    "Function named '{name}' is disallowed, because it can be used to bypass security "
    "restrictions."
)
MSG_CLASS_BLOCKED = (
    "Class named '{name}' is disallowed, because it can be used to bypass security "
    "restrictions."
)
MSG_PARAMETER_BLOCKED = (
    "Parameter named '{name}' is disallowed, because it can be used to bypass security "
    "restrictions."
)
MSG_BOUND_FORMAT_METHOD = (
    "Extracting '{attr}' as a bound method is disallowed; call it directly on its "
    "receiver instead."
)

MSG_SYSTEM_EXIT = "Process exited with code {code}"

# runwire's own (n8n would send bare NaN, which the broker cannot parse).
MSG_NAN_RESULT = (
    "The result contains NaN or Infinity, which n8n cannot store as JSON"
)
DESC_NAN_RESULT = (
    "JSON has no NaN, Infinity or -Infinity. Replace such values (for example with None "
    "or a string) before returning them."
)
MSG_RESULT_TOO_LARGE = (
    "The result is too large to send: {size} bytes, more than the broker accepts"
    " (N8N_RUNNERS_MAX_PAYLOAD is {limit} bytes)"
)
MSG_BAD_SETTINGS = "Invalid task settings: {problem}"
MSG_INTERNAL = "Internal error in runwire's Python executor: {problem}"
