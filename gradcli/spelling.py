"""How people write what gradcli spells its own way: NumPy's modules, names and method forms, and the
hints that turn a refusal into what to write instead. The parser uses these tables; no parsing here.

Everything is checked against the function table (model.FUNCTIONS) when it is used, so a function
added to the table is suggested, named through `np.` and usable as a method at once."""

from __future__ import annotations

import difflib

from gradcli.model import FUNCTIONS

# Names that stand for a module before a dot (`np.sum(x)`, `jax.nn.relu(x)`), and the modules an
# import line may name; `np.linalg.det` is `det`, `jnp.sum` is `sum`.
MODULE_NAMES = ("np", "numpy", "jnp", "jax", "linalg", "nn", "scipy")
SUBMODULES = ("numpy", "linalg", "nn", "scipy", "special")  # jax.scipy.special.logit, scipy.special.expit
IMPORTABLE = ("numpy", "numpy.linalg", "jax", "jax.numpy", "jax.numpy.linalg", "jax.nn")
IMPORTABLE += ("scipy", "scipy.special", "jax.scipy", "jax.scipy.special")
# NumPy's submodules gradcli has nothing of, and what to do instead.
UNAVAILABLE = {
    "random": "gradcli has no random numbers; give values with --at NAME=LITERAL or --at NAME=@FILE",
}

# NumPy's name -> gradcli's, where they differ (used only where gradcli has no function of that name).
ALIASES = {
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
    "arctan2": "atan2",
    "power": "pow",
    "absolute": "abs",
    "fabs": "abs",
    "amax": "max",
    "amin": "min",
    "flatten": "ravel",
    "fix": "trunc",
    "remainder": "mod",
    "radians": "deg2rad",
    "degrees": "rad2deg",
    "rint": "round",
    "around": "round",
    "identity": "eye",
    "float_power": "pow",
    "expit": "sigmoid",
    "trapz": "trapezoid",
}
# Aliases whose NumPy function takes only the array (not the parameters of gradcli's function they
# stand for), and what to write instead: np.rint(x, decimals=1) is NumPy's TypeError.
ONE_ARGUMENT_ALIASES = {
    "rint": "rint() takes only the array (it rounds to integers); for decimals write round(x, decimals=1) "
    "or around(x, 1)",
}
# NumPy's functions for the operators: np.multiply(a, b) is a * b.
OPERATORS = {
    **{"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "true_divide": "/"},
    **{"greater": ">", "greater_equal": ">=", "less": "<", "less_equal": "<=", "equal": "=="},
    "not_equal": "!=",
}
# np.array([1., 2.]) is the list itself (with dtype=float, a cast).
IDENTITIES = ("array", "asarray")
# The dtypes of a cast (x.astype(float), np.float64(x), np.asarray(x, dtype=int)) and of the calls of
# a dtype (np.float64(x), float(s)): gradcli's numbers are exact or float64, so a cast makes a number
# a float64 (derivative 1) or truncates it towards 0 to an integer, as NumPy (derivative 0, as JAX's).
FLOAT_TYPES = ("float", "float64", "double", "float_")
INT_TYPES = ("int", "int64", "int_", "intp")
SCALAR_CASTS = ("float", "int")  # Python's own: of one number only
# Constructors that take NumPy's dtype= keyword (np.zeros(3, dtype=float)): their result cast to it.
DTYPE_FUNCTIONS = (
    "zeros",
    "ones",
    "full",
    "zeros_like",
    "ones_like",
    "full_like",
    "eye",
    "arange",
    "linspace",
)


def unknown_dtype(written: str | None) -> str:
    """The message for a cast to a dtype gradcli does not have."""
    what = f"'{written}'" if written else "this"
    return (
        f"{what} is not a dtype gradcli casts to; gradcli's numbers are exact or float64: write float "
        "(np.float64) or int (np.int64, truncating towards 0 as NumPy)"
    )


# Reductions Python's builtin of the same name compares two values with: max(a, b) is NumPy's max
# of a along axis b, so a second argument that is not an axis means the element-wise function.
ELEMENTWISE_OF_TWO = {"max": "maximum", "min": "minimum"}
# Methods whose NumPy form takes the sizes one by one: x.reshape(2, 3) is reshape(x, (2, 3)).
VARARG_METHODS = ("reshape", "transpose")
# The method forms shown in hints (those whose function exists).
METHOD_EXAMPLES = (
    "x.sum(axis=0)",
    "x.mean()",
    "x.max()",
    "x.min()",
    "x.prod()",
    "x.reshape(2, 3)",
    "x.dot(y)",
)
# Attributes NumPy arrays have and gradcli's arrays do not (their shapes are declared).
SHAPE_ATTRIBUTES = ("shape", "ndim", "size", "dtype")
# Python that is not gradcli, and what to write instead.
PYTHON_WORDS = {
    "if": "gradcli has no 'a if cond else b'; write where(cond, a, b)",
    "else": "gradcli has no 'a if cond else b'; write where(cond, a, b)",
    "def": "gradcli has no 'def'; a program is declarations and definitions: var x; y = x ** 2",
    "return": "gradcli has no 'return'; the last definition is the output (or --of NAME)",
    "lambda": "gradcli has no 'lambda'; a program is declarations and definitions: var x; y = x ** 2",
    "for": "gradcli has no loops; write the computation on whole arrays (sum(x, axis=0), x @ w)",
    "while": "gradcli has no loops; write the computation on whole arrays (sum(x, axis=0), x @ w)",
    **dict.fromkeys(
        ("and", "or", "not"),
        "gradcli has no 'and', 'or', 'not'; choose values with where(cond, a, b), nested for several "
        "conditions",
    ),
}


def function(name: str) -> str | None:
    """gradcli's function for `name` as NumPy writes it, or None."""
    if name in FUNCTIONS:
        return name
    alias = ALIASES.get(name)
    return alias if alias in FUNCTIONS else None


def signature(name: str) -> str:
    """How a function of the table is called, e.g. `maximum(a, b)` or `max(x, axis=...)`."""
    fewest, _, keywords = FUNCTIONS[name]
    args = ["x"] if fewest <= 1 else ["a", "b", "c", "d"][:fewest]
    if "axis" in keywords:
        args.append("axis=...")
    text = f"{name}({', '.join(args)})"
    return text + " (a reduction)" if "keepdims" in keywords else text


def _related(name: str) -> list[str]:
    """Functions whose names extend or shorten `name` (max and maximum): easily confused."""
    return [
        f
        for f in sorted(FUNCTIONS)
        if f != name and min(len(f), len(name)) >= 3 and (f.startswith(name) or name.startswith(f))
    ]


# NumPy's other scalar types: np.float32(x) is a cast to a dtype gradcli does not have.
OTHER_DTYPES = (
    *("float16", "float32", "half", "single", "longdouble", "int8", "int16", "int32", "uint8", "uint16"),
    *("uint32", "uint64", "uint", "bool_", "complex64", "complex128", "complex_", "csingle", "cdouble"),
)


def unknown_function(name: str) -> str:
    """The message for a call of a function gradcli does not have, with what to write instead."""
    if name in OTHER_DTYPES:
        return unknown_dtype(name)
    pool = sorted(set(FUNCTIONS) | {a for a in ALIASES if function(a)})
    close = [function(c) for c in difflib.get_close_matches(name, pool, n=3, cutoff=0.75)]
    candidates = list(dict.fromkeys(close + _related(name)))[:3]
    if not candidates:
        return f"unknown function '{name}'; `gradcli --help` lists every function"
    return f"unknown function '{name}'; did you mean {' or '.join(signature(c) for c in candidates)}?"


def wrong_count(name: str) -> str:
    """A hint after an argument-count error: the related function that takes other arguments."""
    related = _related(name)
    return f"; or did you mean {' or '.join(signature(r) for r in related)}?" if related else ""


def unknown_attribute(attribute: str) -> str:
    """The message for `x.shape` and other attributes gradcli's arrays do not have."""
    methods = " ".join(m for m in METHOD_EXAMPLES if m[2 : m.index("(")] in FUNCTIONS)
    message = (
        f"unknown attribute '.{attribute}'; an array has the attribute .T (transpose), .at[...].add(v), "
        f"and every function as a method with the array first: {methods}"
    )
    if attribute in SHAPE_ATTRIBUTES:
        message += "; shapes are fixed where a variable is declared: var x: [2, 3]"
    return message


def import_problem(module: str, alias: str | None) -> str | None:
    """Why an import line cannot be read (None: it is read and ignored)."""
    if module not in IMPORTABLE:
        return (
            f"gradcli reads NumPy code, not '{module}': only imports of numpy, jax.numpy and "
            "scipy.special are accepted (and ignored)"
        )
    if alias is not None and alias not in MODULE_NAMES:
        return f"gradcli knows NumPy as {', '.join(MODULE_NAMES[:3])}; write 'import {module} as np'"
    return None
