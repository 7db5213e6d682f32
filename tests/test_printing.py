"""Symbolic text reads back, through SymPy's parser, as the very expression it prints."""

import re

import numpy as np
import symengine as se
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sympy.core.function import AppliedUndef

from gradcli import api
from gradcli.model import Request
from gradcli.parser import parse
from gradcli.printing import strip_stops, text

from .programs import program

LABEL = re.compile(r"([A-Za-z_]\w*)\[([0-9,]+)\]")


def _identifier(label: str) -> str:
    return LABEL.sub(lambda m: f"{m.group(1)}__{m.group(2).replace(',', '_')}", label)


def _doubles_as_rationals(expr):
    return expr.xreplace({f: sp.Rational(float(f)) for f in expr.atoms(sp.Float)})


def _same(expr) -> None:
    printed = text(expr)
    names = {}
    parsed = sp.parse_expr(_identifier(printed), local_dict=names, evaluate=True)  # test oracle only
    converted = sp.sympify(strip_stops(expr))
    converted = converted.xreplace({s: sp.Symbol(_identifier(s.name)) for s in converted.free_symbols})
    # element functions SymEngine lacks (erf, log1p, ...) convert as undefined functions of that
    # name; the text reads back as SymPy's own function of the name, the same function
    converted = converted.replace(
        lambda e: isinstance(e, AppliedUndef) and hasattr(sp, str(e.func)),
        lambda e: getattr(sp, str(e.func))(*e.args),
    )
    # a float is printed in its shortest form, which reads back as the same double: compare those
    parsed, converted = (_doubles_as_rationals(e) for e in (parsed, converted))
    difference = sp.simplify(parsed - converted) if parsed != converted else 0
    assert difference == 0, (printed, str(expr))


a, b, c = se.symbols("a b c")


def test_hand_picked_forms():
    for expr in [
        2 * a / 3,
        a - 1,
        1 - a,
        -2 * a * b,
        1 / a,
        1 / (a + b),
        se.sqrt(a),
        se.exp(-a) * se.sin(a),
        a**-2,
        3 / (a**2 * b),
        a ** (-b),
        a ** se.Rational(-1, 3),
        -(a + b),
        a * (-b - 1),
        se.RealDouble(0.1) * a + se.RealDouble(1e-20),
        (a * b) ** -1,
        -(a**2),
        a ** se.RealDouble(-0.5),
        se.Function("relu")(a - b) * c,
        se.Abs(a - b) / 2,
        se.Integer(-3),
        se.Rational(-1, 3) * a,
    ]:
        _same(expr)


def test_examples_read_as_sympy_writes_them():
    assert text(2 * a / 3) == "2*a/3" and text(a - 1) == "a - 1" and text(1 / (a + b)) == "1/(a + b)"
    assert text(se.RealDouble(3.0) * a) == "3.0*a" and text(se.exp(-a) * se.sin(a)) == "exp(-a)*sin(a)"
    assert text(se.RealDouble(0.1) + se.RealDouble(0.2)) == "0.30000000000000004"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program(max_definitions=2, depth=3), st.sampled_from(["a", "v", "M"]))
def test_gradients_of_random_programs_print_back_to_themselves(generated, target):
    source, outputs, _ = generated
    result = api.gradient(parse(source), Request(of=tuple(outputs), wrt=(target,)))
    (gradient,) = result.gradients
    if gradient.expressions is None:
        return
    for expr in np.ravel(gradient.expressions)[:3]:
        _same(expr)
