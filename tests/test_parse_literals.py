"""Literals read without the grammar (parser._read_literals): the same programs, values and errors as
the grammar's own way, over generated literals, their mutations and the programs around them."""

import ast
import json
import os
import re
import subprocess
import sys
from contextlib import contextmanager
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli import parser
from gradcli.errors import GradcliError
from gradcli.model import Limits
from gradcli.parser import parse, parse_literal

EXAMPLES = {"deadline": None, "derandomize": True}


@contextmanager
def _digit_limit_kept():
    """Python's int digit limit as it was before (the grammar's way raises it for long integers)."""
    limit = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else None
    try:
        yield
    finally:
        if limit is not None:
            sys.set_int_max_str_digits(limit)


def _outcome(function, *args, **kwargs):
    """What a parse shows: the result's repr (int 1 and float 1.0, 0.0 and -0.0 differ there) or the
    error's kind, message, place and text."""
    try:
        return "ok", repr(function(*args, **kwargs))
    except GradcliError as error:
        return type(error), error.message, error.span, error.source, error.filename


def _both_ways(function, *args, **kwargs):
    with _digit_limit_kept():
        fast = _outcome(function, *args, **kwargs)
    with _digit_limit_kept(), mock.patch.object(parser, "_FAST_LITERALS", False):
        slow = _outcome(function, *args, **kwargs)
    return fast, slow


# --- generated literals ---------------------------------------------------------------------------

_digits = st.text("0123456789", min_size=1, max_size=4)


@st.composite
def _integer_text(draw):
    first = draw(st.from_regex(r"0|[1-9][0-9]{0,3}", fullmatch=True))  # leading zeros: in _number_text
    groups = [first, *draw(st.lists(_digits, max_size=3))]
    return ("_" if draw(st.booleans()) else "").join(groups)


@st.composite
def _float_text(draw):
    whole, fraction = draw(_integer_text()), draw(_integer_text())
    mantissa = draw(st.sampled_from([f"{whole}.{fraction}", f"{whole}.", f".{fraction}", whole]))
    exponent = draw(st.sampled_from(["e", "E", "e+", "e-", "E-"])) + draw(_integer_text())
    if mantissa == whole or draw(st.booleans()):
        mantissa += exponent
    return mantissa


_number_text = st.one_of(
    _integer_text(),
    _float_text(),
    st.integers(10**18, 10**40).map(str),  # more digits than a float holds
    # Python refuses 007; 1e999 is inf; Python's digit limit (4300) and gradcli's (30,000)
    st.sampled_from(["0", "00", "007", "0_1", "1e999", "4" * 4400, "7" * 30_001]),
)
_not_numbers = st.sampled_from(
    ["1__0", "1_", "_1", "1.5.3", "1e", "e5", "0x10", "inf", "nan", "+1", "1e+", "--1", "1-2", "..5", "x"]
    + ["True", "\u0661\u0662", "\uff11", "1.\u0665", "1 2", "()", "[", "]", ",", "#", "'1'"]
)
_signs = st.sampled_from(["", "", "-", "- ", "-\t", "-\n", "-\r\n"])
_gaps = st.sampled_from(["", "", "", " ", "  ", "\n", " \n  ", "\t", "\r\n", "\f", "\n\n", " \r"])


@st.composite
def _leaf(draw, valid=True):
    if not valid and draw(st.integers(0, 9)) == 0:
        return draw(_not_numbers)
    return draw(_signs) + draw(_number_text)


@st.composite
def _rectangular(draw, leaves):
    shape = draw(st.lists(st.integers(1, 3), max_size=4))
    if draw(st.integers(0, 9)) == 0:
        shape.append(0)

    def fill(dimensions):
        return [fill(dimensions[1:]) for _ in range(dimensions[0])] if dimensions else draw(leaves)

    return fill(shape)


def _any_nesting(leaves):
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=4), max_leaves=12)


@st.composite
def _literal_text(draw, valid=True):
    """A number or nested list: rectangular or ragged, with blanks, newlines and trailing commas."""
    leaves = _leaf(valid)
    tree = draw(st.one_of(_rectangular(leaves), _rectangular(leaves), _any_nesting(leaves)))

    def render(node):
        if isinstance(node, str):
            return node
        items = [draw(_gaps) + render(item) + draw(_gaps) for item in node]
        trailing = "," + draw(_gaps) if node and draw(st.booleans()) else ""
        return "[" + ",".join(items) + trailing + "]"

    return render(tree)


@st.composite
def _mutated(draw, text):
    """`text` with a few characters inserted, deleted or doubled."""
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "double"]))
        if kind == "insert":
            text = text[:at] + draw(st.sampled_from(list("[],-+._eE09 \n#x\"'é\u0661\v;()=:"))) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + text[at : at + 1] * 2 + text[at + 1 :]
    return text


_literals = st.one_of(_literal_text(), _literal_text(valid=False).flatmap(_mutated))


@st.composite
def _programs(draw):
    """Declarations with literals among other statements, whose errors must keep their places."""
    prefix = draw(st.sampled_from(["", "# var x = [1, 2]\n", "u = 1 +\n", "z = (\n", "k = 'var q = [1]'\n"]))
    declarations = []
    for _ in range(draw(st.integers(1, 3))):
        keyword = draw(st.sampled_from(["var", "const"]))
        name = draw(st.sampled_from(["x", "x", "w", "var", "sin"]))
        shape = draw(st.sampled_from(["", "", ": [2]", ": [2, 2]", ":[ 1 ,\n 2 ]", ": []", ": [2,]"]))
        gap = draw(st.sampled_from([" ", "", "\t"]))
        after = draw(st.sampled_from(["", "", "  # note", " y", " + 1", "; const k = [1, 2]", " ]", "\t"]))
        declarations.append(f"{keyword} {name}{shape}{gap}={gap}{draw(_literals)}{after}")
    body = draw(
        st.sampled_from(
            [
                "y = x",
                "y = sum(x) $ 2",
                "y = q",
                "y = (x +\n 1)",
                "",
                "y = 'var z = [1]'",
                "# var z = [1,\n y = 1",
            ]
            + ["y = x ^ 2", "y = 3x", "x", "y = [1,\n 2] * x"]
        )
    )
    return prefix + "\n".join(declarations) + "\n" + body + draw(st.sampled_from(["\n", "", "\n\n"]))


_limits = st.one_of(
    st.just(Limits()),
    st.builds(Limits, nesting=st.integers(0, 5), depth=st.integers(1, 9)),
)


@settings(max_examples=400, **EXAMPLES)
@given(_programs(), _limits, st.booleans())
def test_programs_are_parsed_as_the_grammar_parses_them(text, limits, expression):
    fast, slow = _both_ways(parse, text, "m.txt", limits, expression=expression)
    assert fast == slow


@settings(max_examples=300, **EXAMPLES)
@given(_literals, st.sampled_from(["", " ", "\t", "\n"]), st.sampled_from(["", " ", "\n", " #", " 1"]))
def test_option_literals_are_read_as_the_grammar_reads_them(literal, before, after):
    fast, slow = _both_ways(parse_literal, before + literal + after, "--at x=")
    assert fast == slow


def _python_value(text: str) -> str:
    """The repr of the value Python gives the literal (an oracle independent of gradcli, lists as
    tuples), or of what gradcli reads where Python refuses the spelling (007 is Python 2's octal)."""

    def as_tuples(value):
        return tuple(as_tuples(v) for v in value) if isinstance(value, list) else value

    try:
        return repr(as_tuples(ast.literal_eval(text)))
    except SyntaxError:
        assert re.search(r"(?<![\d._])0[\d_]", text)  # a leading zero, the one spelling Python refuses
        return repr(parse_literal(text, "--at").value)


@settings(max_examples=200, **EXAMPLES)
@given(_literal_text())
def test_well_formed_lists_are_read_without_the_grammar(text):
    """Every rectangular list of numbers within the limits takes the fast way, with Python's values."""
    fast, slow = _both_ways(parse_literal, text, "--at")
    assert fast == slow
    with _digit_limit_kept():
        read = parser._whole_literal(text)
        if read is not None:
            assert repr(read.value) == _python_value(text)
    plain = not any(odd in text for odd in ("4" * 4400, "7" * 30_001, "-\n", "-\r\n"))
    if slow[0] == "ok" and text.startswith("[") and plain:
        shape = parse_literal(text, "--at").shape
        assert read is not None or 0 in shape  # an empty list anywhere is left to the grammar


def test_a_big_matrix_keeps_every_place_after_it():
    rows = [", ".join(f"{(i * 100 + j) / 7:.6f}" for j in range(100)) for i in range(100)]
    matrix = "[\n  [" + "],\n  [".join(rows) + "],\n]"
    text = f"var w = {matrix}  # weights\nconst b = [-1, 2_0, 3e-1]\ny = sum(w @ b[0]) $ 2\n"
    fast, slow = _both_ways(parse, text, "m.txt")
    assert fast == slow and slow[1] == "unexpected character '$'" and slow[2].line == 104
    program_text = text.replace(" $ 2", "")
    fast, slow = _both_ways(parse, program_text, "m.txt")
    assert fast == slow
    source, literals = parser._read_literals(program_text, Limits())
    assert sorted(literals) == [8, program_text.index("[-1")]  # both read without the grammar
    assert len(source) == len(program_text)
    newlines = [i for i, c in enumerate(program_text) if c == "\n"]
    assert [i for i, c in enumerate(source) if c == "\n"] == newlines
    w = parse(program_text).declaration("w").literal
    assert w.shape == (100, 100) and w.value[99][99] == float(f"{9999 / 7:.6f}")
    assert w.numbers[100].line == 3 and w.numbers[100].column == 4


def test_nothing_inside_a_comment_or_a_string_is_read():
    text = "# var x = [1,\n2]\ny = 'var z = [1]'\n"
    source, literals = parser._read_literals(text + "\n", Limits())
    assert literals == {} and source == text + "\n"


def test_a_long_integer_raises_pythons_digit_limit_as_before():
    with _digit_limit_kept():
        sys.set_int_max_str_digits(4300)
        parse("var x = [" + "9" * 5000 + ", 1]\ny = x\n")
        assert sys.get_int_max_str_digits() == 5001
        sys.set_int_max_str_digits(4300)
        with pytest.raises(GradcliError, match="unexpected"):
            parse("var x = [" + "9" * 5000 + ", 1]\ny = x $\n")
        assert sys.get_int_max_str_digits() == 4300  # never reached the transformer


@pytest.mark.parametrize("literal, value", [("5", "5"), ("[5, 6]", "(5, 6)")])
def test_parsing_works_without_pythons_digit_limit(literal, value):
    # PYTHONINTMAXSTRDIGITS=0 lifts the limit; _number used to set it to 2 (a ValueError)
    code = (
        "from gradcli.parser import parse\n"
        f"print(parse('var x = {literal}\\ny = x\\n').declarations[0].literal.value)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONINTMAXSTRDIGITS": "0"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == value


def test_hints_read_only_the_end_of_a_long_line(monkeypatch):
    # a search anchored at the end of a whole 100,000-character line took minutes (quadratic)
    search = re.search

    def bounded_search(pattern, string, *args):
        assert len(string) < 10_000, "searched the whole line"
        return search(pattern, string, *args)

    monkeypatch.setattr(re, "search", bounded_search)
    long = 100_000
    cases = {
        "var x = [" + "7" * long + "_0x10]\ny = x\n": "unexpected 'x10'; write '0 * x10' for a product",
        "var x\ny = " + "a" * long + "+1 )\n": "unexpected ')'; expected ';'",
        "var x\ny = " + "a" * long + "+ b ^ 2\n": "'^' is not a power (in Python it is bitwise xor); "
        "write b ** 2",
    }
    for text, message in cases.items():
        with pytest.raises(GradcliError) as caught:
            parse(text)
        assert caught.value.message == message


@pytest.mark.parametrize("bits", ["1", "100000"])
def test_the_command_line_works_without_pythons_digit_limit(tmp_path, bits):
    # with PYTHONINTMAXSTRDIGITS=0, --limit bits set a limit below Python's minimum: internal error
    (tmp_path / "m.txt").write_text("var x = 5\ny = x ** 2\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gradcli",
            "grad",
            str(tmp_path / "m.txt"),
            "--limit",
            f"bits={bits}",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONINTMAXSTRDIGITS": "0"},
    )
    assert done.returncode in (0, 1) and "internal error" not in done.stderr, done.stderr
    if done.returncode == 0:
        assert json.loads(done.stdout)["gradients"]["x"]["value"] == 10
