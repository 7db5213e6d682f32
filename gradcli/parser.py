"""Parsing: text -> Program (Lark LALR over grammar.lark, then name checks). Never evaluates the text."""

from __future__ import annotations

import difflib
import functools
from importlib import resources

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from gradcli.errors import GradcliError, Span
from gradcli.model import (
    CONSTANTS,
    FUNCTIONS,
    KEYWORDS,
    AtAdd,
    Binary,
    Call,
    Declaration,
    Definition,
    Index,
    Limits,
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
    grammar = resources.files("gradcli").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        start=["start", "literal"],
        postlex=_BracketNewlines(),
        propagate_positions=True,
        maybe_placeholders=True,
        cache=True,  # the LALR tables, kept in the temporary directory: 10 ms to load instead of 200
    )


def _span(item) -> Span:
    if isinstance(item, Token):
        return Span(item.line, item.column, item.end_column, item.start_pos, item.end_pos)
    end = item.end_column if item.end_line == item.line else None
    return Span(item.line, item.column, end, item.start_pos, item.end_pos)


def _number(token: Token) -> int | float:
    text = token.value.replace("_", "")
    return int(text) if token.type == "INT" else float(text)


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
    """Maps each grammar rule to a model object; nothing else."""

    def start(self, meta, *statements):
        return list(statements)

    def var_decl(self, meta, name, shape, literal):
        return _declaration(name, False, shape, literal, meta.end_pos)

    def const_decl(self, meta, name, shape, literal):
        return _declaration(name, True, shape, literal, meta.end_pos)

    def definition(self, meta, name, expr):
        return Definition(str(name), expr, _span(name))

    def shape(self, meta, *dims):
        return tuple(_number(d) for d in dims if d is not None), _span(meta)

    def signed_number(self, meta, minus, number):
        value = _number(number)
        return Literal(-value if minus else value, (), _span(meta), (_span(meta),))

    def literal(self, meta, signed):
        return signed

    def literal_list(self, meta, *items):
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
    matmul = _binary_rule("@")
    pow = _binary_rule("**")

    def compare(self, meta, left, operator, right):
        return Binary(str(operator), left, right, _span(meta))

    def tuple_expr(self, meta, *items):
        return TupleExpr(tuple(i for i in items if i is not None), _span(meta))

    def neg(self, meta, minus, operand):
        return Unary("-", operand, _span(meta))

    def pos(self, meta, operand):
        return Unary("+", operand, _span(meta))

    def index(self, meta, base, items):
        if isinstance(base, _At):
            return _At(base.base, items, _span(meta))
        return Index(base, items, _span(meta))

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
        if str(name) == "at":
            return _At(base, None, _span(meta))
        if str(name) != "T":
            raise GradcliError(
                f"unknown attribute '.{name}'; the only attribute is '.T' (transpose)", _span(name)
            )
        return Transpose(base, _span(meta))

    def method(self, meta, base, name, arguments):
        args, keywords = arguments or ((), ())
        if isinstance(base, _At) and base.items is not None and str(name) == "add" and len(args) == 1:
            return AtAdd(base.base, base.items, args[0], _span(meta))
        if isinstance(base, _At):
            raise GradcliError("write x.at[INDEX].add(VALUE)", _span(meta))
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


def _call(name: Token, args, keywords, span: Span) -> Call:
    function = str(name)
    if function not in FUNCTIONS:
        raise GradcliError(f"unknown function '{function}'{did_you_mean(function, FUNCTIONS)}", _span(name))
    fewest, most, allowed = FUNCTIONS[function]
    if not fewest <= len(args) <= most:
        wanted = str(fewest) if fewest == most else f"{fewest} to {most}"
        raise GradcliError(
            f"{function}() takes {wanted} argument{'s' if most > 1 else ''}, got {len(args)}", span
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


def _syntax_error(error: UnexpectedInput) -> GradcliError:
    span = Span(error.line, error.column, None) if error.line > 0 else None
    if isinstance(error, UnexpectedCharacters):
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
    if token.type != "$END" and token.line is not None:
        span = Span(token.line, token.column, token.end_column)
    hint = ", ".join(expected[:8]) + (", ..." if len(expected) > 8 else "")
    return GradcliError(f"unexpected {found}; expected {hint}", span)


def _parse_tree(text: str, start: str, limits: Limits):
    parser = _lark()
    parser.options.postlex.max_nesting = limits.nesting
    try:
        tree = parser.parse(text, start=start)
    except UnexpectedInput as error:
        raise _syntax_error(error) from None
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


def parse(text: str, filename: str = "<input>", limits: Limits | None = None) -> Program:
    """Parse and check a program. Raises GradcliError (located in `text`) on any bad input."""
    limits = limits or Limits()
    try:
        if not text.endswith("\n"):
            text += "\n"
        statements = _ToModel().transform(_parse_tree(text, "start", limits))
        program = Program(
            text,
            filename,
            tuple(s for s in statements if isinstance(s, Declaration)),
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


def parse_literal(text: str, label: str) -> Literal:
    """Parse a number or nested list (an option value such as --at w=[1, 2])."""
    try:
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
