"""Parsing: text -> Program (Lark LALR over grammar.lark, then name checks). Never evaluates the text.

The LALR tables are built into the package (parser_tables.py, generated from grammar.lark by
tools/build_parser.py): nothing is compiled, cached or read from a file at run time."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import re
import sys

from gradcli import spelling
from gradcli.errors import GradcliError, LimitError, Span
from gradcli.model import CONSTANTS, FUNCTIONS, KEYWORDS, POSITIONAL_NAMES, Limits
from gradcli.parser_tables import (
    Lark,
    Lark_StandAlone,
    Token,
    Transformer,
    Tree,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    v_args,
)
from gradcli.syntax import (
    AtAdd,
    Binary,
    Call,
    Declaration,
    Definition,
    Index,
    ListExpr,
    Literal,
    Name,
    Num,
    Program,
    Slice,
    Str,
    Transpose,
    TupleExpr,
    Unary,
    names_in,
)

_OPENERS = {"LPAR", "LSQB"}
_CLOSERS = {"RPAR", "RSQB"}
_TOKEN_WORDS = {
    "_NL": "end of line",
    "$END": "end of input",
    "NAME": "a name",
    "INT": "a number",
    "FLOAT": "a number",
    "MINUS": "'-'",
    "COLON": "':'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "EQUAL": "'='",
    "PLUS": "'+'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "AT": "'@'",
    "DOUBLESTAR": "'**'",
    "DOT": "'.'",
    "COMPARE": "a comparison",
    "ELLIPSIS": "'...'",
    "STRING": "a string",
    "VAR": "'var'",
    "CONST": "'const'",
    "SEMICOLON": "';'",
}


class _BracketNewlines:
    """Post-lexer: a newline inside (...) or [...] continues the statement; deep nesting is refused."""

    always_accept = ("_NL",)

    def __init__(self):
        self.max_nesting = Limits.nesting

    def process(self, stream):
        depth = 0
        for token in stream:
            if token.type in _OPENERS:
                depth += 1
                if depth > self.max_nesting:
                    raise GradcliError(
                        f"brackets nested deeper than {self.max_nesting} levels; "
                        "raise the limit with --limit nesting=N",
                        _span(token),
                    )
            elif token.type in _CLOSERS:
                depth = max(depth - 1, 0)
            if token.type == "_NL" and depth:
                continue
            yield token


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark_StandAlone(postlex=_BracketNewlines())


def _span(item) -> Span:
    if isinstance(item, Token):
        return Span(item.line, item.column, item.end_column, item.start_pos, item.end_pos)
    end = item.end_column if item.end_line == item.line else None
    return Span(item.line, item.column, end, item.start_pos, item.end_pos)


MAX_DIGITS = 30_000  # digits of an integer literal (about 100,000 bits, the default --limit bits)


def _number(token: Token) -> int | float:
    text = token.value.replace("_", "")
    if token.type != "INT":
        return float(text)
    if len(text) > MAX_DIGITS:
        raise LimitError(
            f"an integer literal of {len(text)} digits is too long (at most {MAX_DIGITS}); write it as a "
            "float (e.g. 1e400 is inf) or split it",
            _span(token),
        )
    if 0 < _int_digit_limit() <= len(text):  # 0: Python converts any length
        sys.set_int_max_str_digits(len(text) + 1)
    return int(text)


def _int_digit_limit() -> int:
    """The most digits Python's int() converts (sys.set_int_max_str_digits); 0 for no limit."""
    return sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 0


def _literal_shape(items: list[Literal], span: Span) -> tuple[int, ...]:
    if not items:
        return (0,)
    inner = items[0].shape
    for item in items[1:]:
        if item.shape != inner:
            raise GradcliError(
                f"ragged list: an element of shape {list(item.shape)} beside one of shape "
                f"{list(inner)}; every row must have the same length",
                item.span,
            )
    return (len(items), *inner)


def _binary_rule(op: str):
    def rule(self, meta, left, *rest):  # `sub` also receives its MINUS token
        return Binary(op, left, rest[-1], _span(meta))

    return rule


@v_args(meta=True, inline=True)
class _ToModel(Transformer):
    """Maps each grammar rule to a model object; nothing else. `literals`: the literals read before
    parsing (_read_literals), by offset, each standing in for the placeholder parsed there."""

    def __init__(self, literals: dict[int, Literal] | None = None):
        super().__init__()
        self.literals = literals or {}

    def start(self, meta, *statements):
        return list(statements)

    def var_decl(self, meta, name, shape, literal):
        return _declaration(name, False, shape, literal, meta.end_pos)

    def const_decl(self, meta, name, shape, literal):
        return _declaration(name, True, shape, literal, meta.end_pos)

    def definition(self, meta, name, expr):
        return Definition(str(name), expr, _span(name))

    def bare_expr(self, meta, expr):
        return _Bare(expr, _span(meta))

    def import_line(self, meta, module, alias):
        problem = spelling.import_problem(module, alias and str(alias))
        if problem:
            raise GradcliError(problem, _span(meta))
        return None

    def from_import(self, meta, module, name, alias):
        if f"{module}.{name}" in spelling.IMPORTABLE:  # from jax import numpy as jnp
            return self.import_line(meta, f"{module}.{name}", alias or name)
        if spelling.function(str(name)) and alias in (None, str(name)):  # from numpy import sin
            return self.import_line(meta, module, None)
        raise GradcliError(f"write 'import {module} as np' and call np.FUNCTION(...)", _span(meta))

    def dotted_name(self, meta, *names):
        return ".".join(str(n) for n in names)

    def shape(self, meta, *dims):
        return tuple(_number(d) for d in dims if d is not None), _span(meta)

    def signed_number(self, meta, minus, number):
        value = _number(number)
        return Literal(-value if minus else value, (), _span(meta), (_span(meta),))

    def literal(self, meta, signed):
        return signed

    def literal_list(self, meta, *items):
        if meta.start_pos in self.literals:
            return self.literals[meta.start_pos]
        items = [i for i in items if i is not None]
        span = _span(meta)
        numbers = tuple(n for i in items for n in i.numbers)
        return Literal(tuple(i.value for i in items), _literal_shape(items, span), span, numbers)

    def int_number(self, meta, token):
        return Num(_number(token), _span(token))

    float_number = int_number

    def name(self, meta, token):
        if str(token) in ("True", "False"):  # Python's booleans are the numbers 1 and 0
            return Num(int(str(token) == "True"), _span(token))
        return Name(str(token), _span(token))

    def string(self, meta, token):
        return Str(str(token)[1:-1], _span(token))

    def list_expr(self, meta, *items):
        return ListExpr(tuple(i for i in items if i is not None), _span(meta))

    add = _binary_rule("+")
    sub = _binary_rule("-")
    mul = _binary_rule("*")
    div = _binary_rule("/")
    floordiv = _binary_rule("//")
    mod = _binary_rule("%")
    matmul = _binary_rule("@")
    pow = _binary_rule("**")

    def compare(self, meta, left, operator, right):
        return Binary(str(operator), left, right, _span(meta))

    def tuple_expr(self, meta, *items):
        return TupleExpr(tuple(i for i in items if i is not None), _span(meta))

    def empty_tuple(self, meta):
        return TupleExpr((), _span(meta))

    def neg(self, meta, minus, operand):
        return Unary("-", operand, _span(meta))

    def pos(self, meta, operand):
        return Unary("+", operand, _span(meta))

    def index(self, meta, base, items):
        if isinstance(base, _At):
            return _At(base.base, items, _span(meta))
        return Index(base, items, _span(meta))

    def whole_index(self, meta, base):
        return self.index(meta, base, ())

    def new_axis(self, meta, name):
        if str(name) != "None":
            raise GradcliError(
                f"an index is a number, a slice, None, ... or a list of numbers; got the name '{name}'",
                _span(name),
            )
        return None

    def ellipsis(self, meta, token):
        return Ellipsis

    def index_list(self, meta, *numbers):
        return tuple(n for n in numbers if n is not None)

    def subscripts(self, meta, *items):
        return tuple(items)

    def index_number(self, meta, minus, token):
        value = _number(token)
        return -value if minus else value

    def slice(self, meta, start, colon, stop, colon2, step):
        return Slice(start, stop, step, _span(meta))

    def attribute(self, meta, base, name):
        if str(name) == "T":
            return Transpose(base, _span(meta))
        module = _module(base)
        if module is not None:
            if str(name) in spelling.SUBMODULES:  # np.linalg, jax.numpy
                return _Module(f"{module}.{name}", _span(meta))
            if str(name) in spelling.UNAVAILABLE:
                raise GradcliError(spelling.UNAVAILABLE[str(name)], _span(name))
            if spelling.function(str(name)):
                raise GradcliError(
                    f"'{module}.{name}' is a function; call it: {module}.{name}(...)", _span(meta)
                )
            return Name(str(name), _span(name))  # np.pi
        if str(name) == "at":
            return _At(base, None, _span(meta))
        raise GradcliError(spelling.unknown_attribute(str(name)), _span(name))

    def method(self, meta, base, name, arguments):
        args, keywords = arguments or ((), ())
        if isinstance(base, _At) and base.items is not None and str(name) == "add" and len(args) == 1:
            return AtAdd(base.base, base.items, args[0], _span(meta))
        if isinstance(base, _At):
            raise GradcliError("write x.at[INDEX].add(VALUE)", _span(meta))
        if _module(base) is not None:  # np.sum(x) is sum(x)
            return _call(name, args, keywords, _span(meta))
        if str(name) in spelling.VARARG_METHODS and len(args) > 1:  # x.reshape(2, 3)
            args = (TupleExpr(args, Span(args[0].span.line, args[0].span.column)),)
        return _call(name, (base, *args), keywords, _span(meta))

    def call(self, meta, name, arguments):
        args, keywords = arguments or ((), ())
        return _call(name, args, keywords, _span(meta))

    def arguments(self, meta, *items):
        args = tuple(i for i in items if i is not None and not isinstance(i, tuple))
        keywords = tuple(i for i in items if isinstance(i, tuple))
        return args, keywords

    def keyword(self, meta, name, value):
        return (str(name), value, _span(name))


class _At:
    """`x.at` and `x.at[...]` on the way to `x.at[...].add(v)`."""

    def __init__(self, base, items, span: Span):
        self.base = base
        self.items = items
        self.span = span


@dataclasses.dataclass(frozen=True)
class _Module:
    """`np.linalg`, `jax.numpy`: a module on the way to one of its functions."""

    name: str
    span: Span


@dataclasses.dataclass(frozen=True)
class _Bare:
    """A statement that is only an expression (an -e program's output, if it is the last)."""

    expr: object
    span: Span


def _module(base) -> str | None:
    """The module `base` names (`np`, `jax.nn`), or None for an array."""
    if isinstance(base, _Module):
        return base.name
    if isinstance(base, Name) and base.id in spelling.MODULE_NAMES:
        return base.id
    return None


def _declaration(name: Token, constant: bool, shape, literal: Literal | None, end: int) -> Declaration:
    if shape is not None and literal is not None and shape[0] != literal.shape:
        raise GradcliError(
            f"the literal has shape {list(literal.shape)} but '{name}' is declared with shape "
            f"{list(shape[0])}",
            literal.span,
        )
    if shape is None:
        shape = (literal.shape if literal is not None else (), None)
    return Declaration(str(name), constant, shape[0], literal, _span(name), end)


def _call(name: Token, args, keywords, span: Span):
    """A call of a function by its name as gradcli or NumPy spells it (np.multiply(a, b) is a * b)."""
    written = str(name)
    function = spelling.function(written)
    if function is None and written in (*spelling.IDENTITIES, "astype"):  # np.array([1., 2.]) is the list
        x, dtype = _dtype_arguments(written, args, keywords, span)
        x = _as_list(x) if written in spelling.IDENTITIES else x  # np.array((1, 2)) is [1, 2]
        if dtype is None or (written != "astype" and _is_none(dtype)):  # dtype=None: NumPy's default
            return x
        return Call(_cast_kind(dtype), (x,), (), span)
    if function is None and written in (*spelling.FLOAT_TYPES, *spelling.INT_TYPES):  # np.float64(x)
        _positional_only(written, args, keywords, 1, span)
        if isinstance(args[0], Str):  # float("inf"), np.float64("1.5"); int("3") is refused
            if written not in spelling.FLOAT_TYPES:
                raise GradcliError(f"{written}() of a string: write the number itself", args[0].span)
            return _float_of_text(args[0])
        kind = written if written in spelling.SCALAR_CASTS else _cast_kind(Name(written, span))
        return Call(kind, (args[0],), (), span)
    if function is None and written in spelling.OPERATORS:  # np.multiply(a, b) is a * b
        _positional_only(written, args, keywords, 2, span)
        return Binary(spelling.OPERATORS[written], args[0], args[1], span)
    if function is None:
        raise GradcliError(spelling.unknown_function(str(name)), _span(name))
    if function in spelling.DTYPE_FUNCTIONS and any(k[0] == "dtype" for k in keywords):
        return _with_dtype(name, function, args, keywords, span)  # np.zeros(3, dtype=float)
    extra = [a.span for a in args[1:]] + [k[2] for k in keywords if k[0] == "decimals"]
    if written in spelling.ONE_ARGUMENT_ALIASES and extra:  # np.rint(x, decimals=1): NumPy's TypeError
        raise GradcliError(spelling.ONE_ARGUMENT_ALIASES[written], extra[0])
    fewest, most, allowed = FUNCTIONS[function]
    names = POSITIONAL_NAMES.get(written, POSITIONAL_NAMES.get(function, ()))  # identity(n=3) is eye(3)
    args, keywords = _placed(names, list(args), list(keywords))
    if not fewest <= len(args) <= most:
        wanted = str(fewest) if fewest == most else f"{fewest} to {most}"
        raise GradcliError(
            f"{function}() takes {wanted} argument{'s' if most > 1 else ''}, got {len(args)}"
            + spelling.wrong_count(function),
            span,
        )
    seen = set()
    for keyword, _, kspan in keywords:
        if keyword not in allowed:
            takes = f"takes only {', '.join(k + '=' for k in allowed)}" if allowed else "takes no keywords"
            raise GradcliError(f"{function}() {takes}; got '{keyword}='", kspan)
        if keyword in seen:
            raise GradcliError(f"'{keyword}=' given twice", kspan)
        seen.add(keyword)
    return Call(function, tuple(args), tuple(keywords), span)


def _with_dtype(name: Token, function: str, args, keywords, span: Span) -> Call:
    """A constructor given NumPy's dtype= (np.zeros(3, dtype=float)): its result cast to it (an
    integer linspace rounded towards -inf, as NumPy 2's; an integer arange of integers only)."""
    given = [k for k in keywords if k[0] == "dtype"]
    if len(given) > 1:
        raise GradcliError("'dtype=' given twice", given[1][2])
    made = _call(name, args, tuple(k for k in keywords if k[0] != "dtype"), span)
    if _is_none(given[0][1]):  # dtype=None: the function's own numbers
        return made
    kind = _cast_kind(given[0][1])
    if kind == "float64":
        return Call(kind, (made,), (), span)
    if function == "linspace":
        return Call("floor", (made,), (), span)
    numbers = [*args, *(value for keyword, value, _ in keywords if keyword != "dtype")]
    if function == "arange" and not all(_is_integer(n) for n in numbers):
        raise GradcliError(
            "arange() takes an integer dtype only with integer start, stop and step (NumPy steps by the "
            "difference of its first two values then); write arange(...).astype(int) to truncate",
            given[0][2],
        )
    return Call(kind, (made,), (), span)


def _is_integer(node) -> bool:
    """An integer written in the program (or its negation)."""
    if isinstance(node, Unary):
        return _is_integer(node.operand)
    return isinstance(node, Num) and isinstance(node.value, int)


def _dtype_arguments(written: str, args, keywords, span: Span):
    """The array and the dtype (None: none given) of np.array(x, dtype=None), np.asarray and
    x.astype(dtype) (a method: x comes first); the dtype by keyword or second."""
    for keyword, _, kspan in keywords:
        if keyword != "dtype":
            raise GradcliError(f"{written}() takes only dtype= here; got '{keyword}='", kspan)
    if len(keywords) > 1:
        raise GradcliError("'dtype=' given twice", keywords[1][2])
    if keywords and len(args) > 1:
        raise GradcliError("'dtype=' is given as argument 2 already", keywords[0][2])
    given = [*args, *(value for _, value, _ in keywords)]
    fewest = 2 if written == "astype" else 1
    if not fewest <= len(given) <= 2 or not args:
        example = "x.astype(float)" if written == "astype" else f"{written}(x) or {written}(x, dtype=float)"
        raise GradcliError(f"{written}() takes an array and a dtype: {example}", span)
    return given[0], (given[1] if len(given) == 2 else None)


def _as_list(x):
    """A tuple, nested or not, as the list NumPy makes an array of: np.array(((1, 2), (3, 4)))."""
    if isinstance(x, (TupleExpr, ListExpr)):
        return ListExpr(tuple(_as_list(item) for item in x.items), x.span)
    return x


def _is_none(node) -> bool:
    return isinstance(node, Name) and node.id == "None"


def _cast_kind(dtype) -> str:
    """The cast a dtype written in the program names: 'float64' or 'int64' (None: float64, as
    NumPy's x.astype(None))."""
    written = dtype.id if isinstance(dtype, Name) else (dtype.value if isinstance(dtype, Str) else None)
    if written in spelling.FLOAT_TYPES or _is_none(dtype):
        return "float64"
    if written in spelling.INT_TYPES:
        return "int64"
    raise GradcliError(spelling.unknown_dtype(written), dtype.span)


def _float_of_text(text: Str) -> Num:
    """float("inf"), float("-1.5"): Python's float of a number written as a string (never NaN)."""
    try:
        value = float(text.value)
    except ValueError:
        value = math.nan
    if math.isnan(value):
        raise GradcliError(
            f'float() of a string takes a number or inf, e.g. float("inf"); got {text.value!r}', text.span
        )
    return Num(value, text.span)


def _placed(names: tuple[str, ...], args: list, keywords: list) -> tuple[list, list]:
    """The arguments with each keyword that names the next positional parameter moved into place."""
    for i, (keyword, _, kspan) in enumerate(keywords):
        if keyword in (k[0] for k in keywords[:i]):
            raise GradcliError(f"'{keyword}=' given twice", kspan)
        if keyword in names[: len(args)]:
            number = names.index(keyword) + 1
            raise GradcliError(f"'{keyword}=' is given as argument {number} already", kspan)
    for name in names[len(args) :]:
        found = next((k for k in keywords if k[0] == name), None)
        if found is None:
            break
        args.append(found[1])
        keywords.remove(found)
    return args, keywords


def _positional_only(name: str, args, keywords, count: int, span: Span) -> None:
    if keywords:
        keyword, _, kspan = keywords[0]
        raise GradcliError(f"{name}() takes no keywords here; got '{keyword}='", kspan)
    if len(args) != count:
        raise GradcliError(f"{name}() takes {count} argument{'s' * (count > 1)}, got {len(args)}", span)


def did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _known(name: str, known) -> str:
    """A hint for an unknown name: the closest known name, or the known names."""
    hint = did_you_mean(name, known)
    if hint:
        return hint
    if not known:
        return "; declare it first with 'var' or 'const'"
    names = list(known)
    listed = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"; names defined before this line: {listed}"


def _syntax_error(error: UnexpectedInput, text: str) -> GradcliError:
    span = Span(error.line, error.column, None) if error.line > 0 else None
    if isinstance(error, UnexpectedCharacters):
        if error.char == "^":
            base = re.search(r"(\w+)[ \t]*$", _before(text, error.pos_in_stream))
            exponent = re.match(r"[ \t]*(\w+)", text[error.pos_in_stream + 1 :])
            written = f"{base[1]} ** {exponent[1]}" if base and exponent else "a ** b"
            return GradcliError(f"'^' is not a power (in Python it is bitwise xor); write {written}", span)
        return GradcliError(f"unexpected character {error.char!r}", span)
    if isinstance(error, UnexpectedEOF):
        return GradcliError("unexpected end of input", span)
    token = error.token
    found = (
        "end of line"
        if token.type == "_NL"
        else ("end of input" if token.type == "$END" else repr(str(token)))
    )
    expected = sorted({_TOKEN_WORDS.get(t, t) for t in error.expected if t != "_NL"})
    if not expected or error.expected == {"_NL"} or "_NL" in error.expected and "$END" in error.expected:
        expected = sorted({_TOKEN_WORDS.get(t, t) for t in error.expected})
    if token.start_pos is not None and _innermost_bracket(_before(text, token.start_pos)):
        expected = [t for t in expected if t != _TOKEN_WORDS["SEMICOLON"]]  # no statement ends inside
    if token.type != "$END" and token.line is not None:
        span = Span(token.line, token.column, token.end_column)
    hint = _teaching_hint(token, text)
    if hint is None and expected:
        hint = "expected " + ", ".join(expected[:8]) + (", ..." if len(expected) > 8 else "")
    return GradcliError(f"unexpected {found}" + (f"; {hint}" if hint else ""), span)


def _before(text: str, position: int) -> str:
    """The text just before `position`, as much as the hints read: a search for a match that ends
    where the text ends tries every start, so on a whole long line it took time quadratic in it."""
    return text[max(0, position - _HINT_WINDOW) : position]


_HINT_WINDOW = 1000  # characters; a number or a word written longer is shown by its end


def _teaching_hint(token: Token, text: str) -> str | None:
    """What to write instead, for Python and mathematical notation that gradcli spells otherwise."""
    if token.type in ("_NL", "$END") or token.start_pos is None:
        return None
    before = _before(text, token.start_pos)
    number = re.search(r"(\d|\d\.)$", before)
    if number and token.type in ("NAME", "LPAR"):  # 3x, 2(x + 1)
        written = re.search(r"[\d.]+(?:[eE][+-]?\d+)?$", before).group()
        return f"write '{written} * {token}' for a product"
    after_a_value = re.search(r"[\w.)\]]\s*$", before)
    starts_a_value = token.type in ("INT", "FLOAT", "NAME", "LSQB")
    if starts_a_value and after_a_value and _innermost_bracket(before) == "[":  # [1 2], MATLAB's rows
        return "separate list items with ',' (NumPy writes [1, 2], not [1 2])"
    word = re.search(r"([A-Za-z_]\w*)\s*$", before)
    for candidate in (str(token), word and word.group(1)):
        if candidate in spelling.PYTHON_WORDS:
            return spelling.PYTHON_WORDS[candidate]
    return None


def _innermost_bracket(before: str) -> str | None:
    """The bracket, '(' or '[', that is open where `before` ends (None: none is)."""
    closed = 0
    for char in reversed(before):
        if char in ")]":
            closed += 1
        elif char in "([":
            if not closed:
                return char
            closed -= 1
    return None


def _parse_tree(text: str, start: str, limits: Limits, written: str | None = None):
    """The tree of `text`; `written`: the text as written, if `text` has placeholders (error hints)."""
    parser = _lark()
    parser.options.postlex.max_nesting = limits.nesting
    try:
        tree = parser.parse(text, start=start)
    except UnexpectedInput as error:
        raise _syntax_error(error, written or text) from None
    _check_depth(tree, limits.depth)
    return tree


def _check_depth(tree, limit: int) -> None:
    """Refuse expressions nested deeper than `limit` operations before anything recurses on them."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise GradcliError(
                f"expression nested deeper than {limit} operations; split it into several "
                "definitions or raise the limit with --limit depth=N",
                _span(node.meta) if not node.meta.empty else None,
            )
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


# Literals read without the grammar ------------------------------------------------------------------
#
# Through the grammar a literal of n numbers is about 4n tokens for the lexer, the LALR parser and the
# transformer: ~0.5 s for a 100x100 matrix. A declaration's literal that is a rectangular list of plain
# numbers is read here with regular expressions instead (~20 times faster) and the grammar parses a
# placeholder of the same length in its place ('[0', blanks, ']', the newlines where they were), so
# every later token keeps its offset, line and column; the transformer then swaps the literal in.
# Anything else (a comment or a name inside, a ragged list, an empty one, a limit reached, bad input)
# is left to the grammar, so its value and every error stay exactly what the grammar makes of them.
# The placeholder is only made where the grammar reads a literal: after `var|const NAME [: SHAPE] =`,
# a keyword that can only start a statement, and never inside a comment or a string.

_FAST_LITERALS = True  # False: every literal goes through the grammar (tests compare the two ways)

_BLANKS = "[ \t\f\r]*"  # what the grammar skips between tokens
_GAPS = "[ \t\f\r\n]*"  # and inside brackets, where newlines are dropped too
_DECLARATION = re.compile(
    r"""#[^\n]*|"[^"\n]*"|'[^'\n]*'"""  # comments and strings, matched whole to be skipped
    rf"|(?<![A-Za-z0-9_])(?P<head>(?:var|const)[ \t\f\r]+[A-Za-z_][A-Za-z0-9_]*{_BLANKS}"
    rf"(?::{_BLANKS}\[[0-9_, \t\f\r\n]*\]{_BLANKS})?={_BLANKS})(?=\[)"
)
_LITERAL_CHARACTERS = re.compile(r"[-+.\w \t\f\r\n\[\],]*")
_BRACKET = re.compile(r"[\[\]]")
_DIGIT_FORM = str.maketrans("123456789", "000000000")
_SEPARATOR = re.compile(r"([ \t\f\r\n\[\],]+(?:-[ \t\f\r]*)?)")  # what lies between two numbers
_OPENING = re.compile(rf"\[(?:{_GAPS}\[)*{_GAPS}(?:-{_BLANKS})?")  # before the first number
_BETWEEN = re.compile(rf"{_GAPS}(?:,?{_GAPS}\]{_GAPS})*,{_GAPS}(?:\[{_GAPS})*(?:-{_BLANKS})?")
_CLOSING = re.compile(rf"{_GAPS}(?:,?{_GAPS}\]{_GAPS})+")  # after the last number


@functools.lru_cache(maxsize=1)
def _numbers() -> re.Pattern:
    """Numbers, one a line, each one whole FLOAT or INT token as the grammar's lexer matches it there
    (FLOAT first, as Lark orders them; the lookahead and backreference make the match atomic)."""
    pattern = {terminal.name: terminal.pattern.to_regexp() for terminal in _lark().terminals}
    return re.compile(rf"(?:(?=(?P<number>{pattern['FLOAT']}|{pattern['INT']}))(?P=number)\n)*")


def _read_literals(text: str, limits: Limits) -> tuple[str, dict[int, Literal]]:
    """`text` with placeholders for the declarations' literals read here, and those literals by offset."""
    literals: dict[int, Literal] = {}
    pieces = []
    line, line_start, counted, copied, position = 1, 0, 0, 0, 0
    while match := _DECLARATION.search(text, position):
        position = match.end()
        if match["head"] is None:
            continue
        line += text.count("\n", counted, position)
        newline = text.rfind("\n", counted, position)
        line_start = newline + 1 if newline >= 0 else line_start
        counted = position
        literal = _list_literal(text, position, line, line_start, limits)
        if literal is not None:
            literals[position] = literal
            pieces += [text[copied:position], _placeholder(text[position : literal.span.end])]
            copied = position = literal.span.end
    return "".join([*pieces, text[copied:]]), literals


def _whole_literal(text: str) -> Literal | None:
    """`text` read as the grammar's `literal` would, if it is one list literal _list_literal reads."""
    start = len(text) - len(text.lstrip(" \t\f\r"))
    if not text.startswith("[", start):
        return None
    literal = _list_literal(text, start, 1, 0, Limits())
    if literal is None or text[literal.span.end :].strip(" \t\f\r"):
        return None
    return literal


def _placeholder(written: str) -> str:
    """A literal of one number as long as `written`, with its newlines at the same offsets."""
    blank = "\n".join(" " * len(line) for line in written[1:-1].split("\n"))
    return "[" + blank.replace(" ", "0", 1) + "]"


def _list_literal(text: str, start: int, line: int, line_start: int, limits: Limits) -> Literal | None:
    """The literal whose '[' is text[start] (on `line`, which starts at offset `line_start`), as the
    grammar would make it; None unless it is a rectangular list of numbers within the limits."""
    end = _list_end(text, start, limits.nesting)
    if end is None:
        return None
    parts = _SEPARATOR.split(text[start:end])  # '', separator, number, ..., number, separator, ''
    separators, numbers = parts[1::2], parts[2:-1:2]
    joined = "\n".join(numbers)
    forms = set(joined.translate(_DIGIT_FORM).split("\n"))  # numbers of one form are valid alike
    if not numbers or not _numbers().fullmatch("\n".join(forms) + "\n"):
        return None
    if not (_OPENING.fullmatch(separators[0]) and _CLOSING.fullmatch(separators[-1])):
        return None
    depth = separators[0].count("[")
    if depth + 4 > limits.depth:  # the tree of the deepest number: start, declaration, lists, literal
        return None
    if any(not _BETWEEN.fullmatch(s) or s.count("[") != s.count("]") for s in set(separators[1:-1])):
        return None
    closes = {separator: separator.count("]") for separator in set(separators)}
    shape = _rectangular_shape([closes[separator] for separator in separators[1:]], depth)
    digits = numbers if "_" not in joined else [number.replace("_", "") for number in numbers]
    if shape is None or max(map(len, digits)) >= min(MAX_DIGITS + 1, _int_digit_limit() or math.inf):
        return None  # ragged, or a long number the grammar's way refuses or raises Python's limit for
    values = [int(d) if d.isdecimal() else float(d) for d in digits]  # a FLOAT has a point or an e
    negative = {separator for separator in closes if "-" in separator}
    if negative:
        values = [-v if separator in negative else v for v, separator in zip(values, separators)]
    measures = {separator: _measure(separator) for separator in closes}
    spans = []
    position, first_line, first_line_start = start, line, line_start
    for separator, number in zip(separators, numbers):
        length, newlines, next_line, number_start = measures[separator]
        if newlines:
            line += newlines
            line_start = position + next_line
        begin = position + number_start
        position += length + len(number)
        spans.append(Span(line, begin - line_start + 1, position - line_start + 1, begin, position))
    one_line = line + separators[-1].count("\n") == first_line
    end_column = end - first_line_start + 1 if one_line else None
    span = Span(first_line, start - first_line_start + 1, end_column, start, end)
    return Literal(_nested(values, shape), shape, span, tuple(spans))


def _measure(separator: str) -> tuple[int, int, int, int]:
    """A separator's length, its newlines, where the line after its last newline starts in it, and
    where the number after it starts (at its minus sign)."""
    minus = separator.find("-")
    number_start = minus if minus >= 0 else len(separator)
    return len(separator), separator.count("\n"), separator.rfind("\n") + 1, number_start


def _list_end(text: str, start: int, nesting: int) -> int | None:
    """The offset just past the ']' that closes the '[' at text[start], if no more than `nesting`
    brackets deep and with only characters a literal may hold in between."""
    depth = 0
    for bracket in _BRACKET.finditer(text, start, _LITERAL_CHARACTERS.match(text, start).end()):
        depth += 1 if bracket.group() == "[" else -1
        if depth > nesting:
            return None
        if depth == 0:
            return bracket.end()
    return None


def _rectangular_shape(closes: list[int], depth: int) -> tuple[int, ...] | None:
    """The shape of a list whose numbers, all `depth` brackets deep, are followed by closes[i] ']'
    each; None if it is ragged."""
    size, dimensions = 1, []  # size: numbers in each list of the level below
    for level in range(1, depth + 1):  # the first list of a level ends at its first ']' of that level
        end = next((i + 1 for i in range(size - 1, len(closes), size) if closes[i] >= level), None)
        if end is None:
            return None
        dimensions.append(end // size)
        size = end
    shape = tuple(reversed(dimensions))
    expected = [0] * (shape[-1] - 1) + [1]
    for level, length in enumerate(reversed(shape[:-1]), 2):
        expected *= length
        expected[-1] = level
    return shape if closes == expected else None


def _nested(values: list, shape: tuple[int, ...]) -> tuple:
    """`values` (row-major) as nested tuples of `shape`."""
    for length in reversed(shape[1:]):
        values = [tuple(values[i : i + length]) for i in range(0, len(values), length)]
    return tuple(values)


def parse(
    text: str, filename: str = "<input>", limits: Limits | None = None, *, expression: bool = False
) -> Program:
    """Parse and check a program. With `expression` (an -e program) a name that is never declared
    or defined is a scalar variable, and the last statement may be a bare expression: the output,
    named `f` (or `f_1`, ... if the program uses `f`). Raises GradcliError (located in `text`)."""
    limits = limits or Limits()
    try:
        if not text.endswith("\n"):
            text += "\n"
        source, literals = _read_literals(text, limits) if _FAST_LITERALS else (text, {})
        statements = _ToModel(literals).transform(_parse_tree(source, "start", limits, text))
        statements = _named_output([s for s in statements if s is not None], expression)  # None: import
        for statement in statements:
            if isinstance(statement, Definition):
                _check_leftovers(statement.expr)
        if expression:
            statements = _implicit_variables(statements) + statements
        declarations = [s for s in statements if isinstance(s, Declaration)]
        program = Program(
            text,
            filename,
            tuple(sorted(declarations, key=lambda d: d.span.start)),
            tuple(s for s in statements if isinstance(s, Definition)),
        )
        _check_names(statements)
        if not program.definitions:
            raise GradcliError("the program has no definition (NAME = EXPR) to differentiate")
        return program
    except GradcliError as error:
        raise error.located(text, filename) from None
    except Exception as error:  # Lark wraps errors raised inside the transformer
        inner = getattr(error, "orig_exc", None)
        if isinstance(inner, GradcliError):
            raise inner.located(text, filename) from None
        raise


def _named_output(statements: list, expression: bool) -> list:
    """The statements with an -e program's bare last expression as a definition; a bare
    expression anywhere else is refused."""
    for i, statement in enumerate(statements):
        if not isinstance(statement, _Bare):
            continue
        if not expression:
            raise GradcliError(
                "an expression without a name; write NAME = EXPR (only an -e program may end with a "
                "bare expression)",
                statement.span,
            )
        if i != len(statements) - 1:
            raise GradcliError(
                "only the last statement of an -e program may be a bare expression (its output); "
                "give this one a name: NAME = EXPR",
                statement.span,
            )
        exprs = [s.expr for s in statements if isinstance(s, (Definition, _Bare))]
        used = {s.name for s in statements[:-1]} | {node.id for e in exprs for node, _ in names_in(e)}
        name, k = "f", 0
        while name in used:
            k += 1
            name = f"f_{k}"
        statements = [*statements[:-1], Definition(name, statement.expr, statement.span)]
    return statements


def _implicit_variables(statements: list) -> list[Declaration]:
    """An -e program's names that are never declared or defined, as scalar variables (by first use)."""
    bound = {s.name for s in statements} | set(FUNCTIONS) | set(KEYWORDS) | set(CONSTANTS)
    first: dict[str, Span] = {}
    for statement in statements:
        if isinstance(statement, Definition):
            for node, _ in names_in(statement.expr):
                if node.id not in bound:
                    first.setdefault(node.id, node.span)
    ordered = sorted(first.items(), key=lambda item: item[1].start)
    return [Declaration(name, False, (), None, span, span.end) for name, span in ordered]


def _check_leftovers(expr) -> None:
    """Refuse what only makes sense followed by more: `x.at` without `[...].add(v)`, a module
    without a call (`np.linalg`)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, _At):
            raise GradcliError("write x.at[INDEX].add(VALUE)", node.span)
        if isinstance(node, _Module):
            raise GradcliError(
                f"'{node.name}' is a module; call a function: {node.name}.FUNCTION(...)", node.span
            )
        if isinstance(node, tuple):
            stack.extend(node)
        elif dataclasses.is_dataclass(node) and not isinstance(node, (Num, Name, Span)):  # not leaves
            stack.extend(getattr(node, f.name) for f in dataclasses.fields(node))


def parse_literal(text: str, label: str) -> Literal:
    """Parse a number or nested list (an option value such as --at w=[1, 2])."""
    try:
        literal = _whole_literal(text) if _FAST_LITERALS else None
        if literal is not None:
            return literal
        return _ToModel().transform(_parse_tree(text, "literal", Limits()))
    except GradcliError as error:
        raise error.located(text, label) from None
    except Exception as error:
        inner = getattr(error, "orig_exc", None)
        if isinstance(inner, GradcliError):
            raise inner.located(text, label) from None
        raise


def _check_names(statements) -> None:
    """Each name defined once, before use; no keyword or function used as a name."""
    first: dict[str, Span] = {}
    constants_used: dict[str, Span] = {}  # pi, e, inf used as constants (before any binding of theirs)
    for statement in statements:
        if isinstance(statement, Definition):
            for node, _ in names_in(statement.expr):
                if node.id in FUNCTIONS:
                    raise GradcliError(f"'{node.id}' is a function; call it as {node.id}(...)", node.span)
                if node.id in CONSTANTS and node.id not in first:
                    constants_used.setdefault(node.id, node.span)
                elif node.id not in first:
                    if node.id == statement.name:
                        raise GradcliError(f"'{node.id}' is used in its own definition", node.span)
                    raise GradcliError(f"unknown name '{node.id}'{_known(node.id, first)}", node.span)
        if statement.name in FUNCTIONS or statement.name in KEYWORDS:
            what = "a keyword" if statement.name in KEYWORDS else "the name of a function"
            raise GradcliError(f"'{statement.name}' is {what}; choose another name", statement.span)
        if statement.name in constants_used:
            raise GradcliError(
                f"'{statement.name}' is used as a constant at line {constants_used[statement.name].line}; "
                "choose another name",
                statement.span,
            )
        if statement.name in first:
            earlier = first[statement.name]
            raise GradcliError(
                f"'{statement.name}' is already defined at line {earlier.line}; each name is defined once",
                statement.span,
            )
        first[statement.name] = statement.span
