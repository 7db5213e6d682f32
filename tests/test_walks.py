"""The fast paths of the per-element walks agree with the slow, obvious forms they replace."""

import math

import numpy as np
import symengine as se

from gradcli import differentiate, functions, lower, scalar_rules
from gradcli.evaluate import Evaluator
from gradcli.printing import _Printer, text

a, b, c = se.symbols("a b c")
STOP = se.Function("stop")
RELU = se.Function("relu")


def _reference_postorder(roots):
    """Children before parents, each node once, by recursion over `.args` (the obvious form)."""
    order, seen = [], set()

    def visit(node):
        if node in seen:
            return
        seen.add(node)
        for child in node.args:
            visit(child)
        order.append(node)

    for root in roots:
        visit(root)
    return order


def test_is_zero_is_equality_with_exact_zero():
    values = [
        se.Integer(0), a - a, se.Rational(0, 3), 0 * a, se.Integer(2) - 2, se.Add(),
        se.RealDouble(0.0), se.RealDouble(-0.0), se.RealDouble(math.nan), se.Integer(1), a,
        se.Rational(1, 3), se.sin(a) - se.sin(a), STOP(a),
    ]  # fmt: skip
    for value in values:
        assert functions.is_zero(value) == (value == 0), value


def test_kind_names_each_operation():
    cases = {
        a + b: "add", a * b: "mul", a**b: "pow", se.Abs(a - b): "abs", se.sin(a): "sin",
        se.log(a): "log", STOP(a): "stop", RELU(a - b): "relu", a: "leaf", se.Integer(3): "leaf",
        se.RealDouble(0.5): "leaf",
    }  # fmt: skip
    for expr, expected in cases.items():
        assert functions.kind(expr) == expected, expr


def test_walk_lists_what_the_recursive_postorder_lists_and_shares_the_listed_objects():
    shared = (a - b**2) ** 2
    roots = [shared * c + STOP(shared), se.sin(shared) - a, shared, a * b * c + 2]
    order, arguments = differentiate.walk(roots)
    assert order == _reference_postorder(roots)
    listed = {id(node) for node in order}
    for node in order:
        assert arguments[node] == node.args
        assert all(id(arg) in listed for arg in arguments[node])  # the listed objects themselves
    again, _ = differentiate.walk(roots, arguments={})
    assert again == order
    reused, _ = differentiate.walk(roots, arguments=arguments)
    assert reused == order


def test_walk_skips_known_nodes():
    inner = a * b + 1
    order, arguments = differentiate.walk([se.sin(inner) + c], known={inner: None})
    assert inner not in order and a not in order
    assert se.sin(inner) in order and arguments[se.sin(inner)] == (inner,)


def _same_value(u, v, point) -> bool:
    """Whether two element expressions agree at a point (forms may differ: a sweep's products
    against SymEngine's collected terms)."""
    left, right = (float(Evaluator({s: float(v) for s, v in point.items()})(e)) for e in (u, v))
    return math.isclose(left, right, rel_tol=1e-12, abs_tol=1e-12)


def test_hessian_rows_agree_with_separate_sweeps():
    x = list(se.symbols("x0:5"))
    first = [
        -400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]),  # SymEngine's own differentiation
        200 * (x[1] - x[0] ** 2) + se.sin(x[1] * x[2]) * STOP(x[1]),  # a sweep: stop() is not textbook
        se.exp(x[2] - x[3]) + RELU(x[3]) * x[2],
        (x[3] * x[4]) ** se.Rational(1, 2) + x[3] ** 3 + se.log(x[4]) * se.tanh(x[3]),
        functions.ZERO,
    ]
    point = {s: se.Rational(k + 2, 7) for k, s in enumerate(x)}
    matrix, (entries, codes) = differentiate.hessian(first, x)  # row i from entry i's partials, mirrored
    for i, expr in enumerate(first):
        alone = {} if functions.is_zero(expr) else differentiate.reverse_sweep({expr: functions.ONE}, set(x))
        for j in range(i, len(x)):
            assert matrix[i, j] is matrix[j, i], (i, j)
            assert _same_value(matrix[i, j], alone.get(x[j], functions.ZERO), point), (i, j)
    assert all(matrix[k] is entries[codes[k]] for k in np.ndindex(matrix.shape))  # factored as it is
    assert len(set(entries)) == len(entries) and set(entries) == set(lower.distinct(matrix)[0])
    assert se.expand(matrix[0, 0] - (1200 * x[0] ** 2 - 400 * x[1] + 2)) == 0
    assert matrix[1, 1] == 200 + x[2] * se.cos(x[1] * x[2]) * STOP(x[1])  # none through stop()
    assert matrix[1, 2] == x[1] * se.cos(x[1] * x[2]) * STOP(x[1])


def test_textbook_partials_are_the_operation_tables_rules():
    """Each operation SymEngine may differentiate itself, and powers with number exponents, give
    the sweep's derivative (the operation table's VJP rule) at a point, to the third order."""
    y = se.Symbol("y")
    cases = [
        se.sin(a * b) + se.cos(a - b),
        se.tanh(a * b) * se.sinh(a) - se.cosh(b / a),
        se.log(a + b**2) * a**3 / b,
        se.sqrt(a * b + 1) - (a + b) ** se.Rational(-3, 2) + se.exp(a - 2 * b) + (a * b) ** 2.5,
    ]
    point = {a: se.Rational(3, 5), b: se.Rational(7, 4), y: 1}
    for expr in cases:
        for order in (2, 3):
            fast = differentiate.derivative_tensor(
                np.array([se.diff(expr, a), se.diff(expr, b)]), np.array([a, b]), order
            )
            slow = _swept_tensor(expr, [a, b], order)
            for key in np.ndindex(fast.shape):
                assert _same_value(fast[key], slow[key], point), (expr, key)


def _swept_tensor(expr, symbols, order):
    """Derivatives of every order by repeated sweeps (never SymEngine's diff)."""
    entries = {(): expr}
    for _ in range(order):
        entries = {
            key + (j,): differentiate.reverse_sweep({e: functions.ONE}, {s}).get(s, functions.ZERO)
            if not functions.is_zero(e)
            else functions.ZERO
            for key, e in entries.items()
            for j, s in enumerate(symbols)
        }
    out = np.empty((len(symbols),) * order, dtype=object)
    for key, e in entries.items():
        out[key] = e
    return out


def test_rows_with_deep_shared_graphs_are_swept_not_written_out():
    """A 40-step chain's derivative is a graph of ~200 nodes but a tree of ~2**40: SymEngine's
    own differentiation would write it out; the sweep's cost is the graph's."""
    x = se.Symbol("x")
    value = x
    for _ in range(40):
        value = se.sin(value) * value + se.Rational(1, 2)
    first = differentiate.reverse_sweep({value: functions.ONE}, {x})[x]
    nodes, arguments = differentiate.walk([first])
    assert not differentiate._textbook(nodes, arguments)[first]
    second = differentiate.hessian([first], [x])[0][0, 0]
    swept = differentiate.reverse_sweep({first: functions.ONE}, {x})[x]
    assert _same_value(second, swept, {x: se.Rational(3, 10)})  # (== would compare trees written out)


def test_a_partial_left_out_for_a_number_argument_is_found_when_asked():
    p = se.Symbol("p")
    node = p**3
    assert scalar_rules.partial(node, 0) == 3 * p**2  # the exponent's partial is not worked out
    exponent_partial = scalar_rules.partial(node, 1)  # ... until asked for: p**3 * log(p) where p > 0
    assert math.isclose(float(Evaluator({p: 2.0})(exponent_partial)), 8 * math.log(2), rel_tol=1e-15)
    assert float(Evaluator({p: -2.0})(exponent_partial)) == 0


def test_one_printer_prints_each_expression_as_alone():
    exprs = [
        -2 * a, -2 * b * c, 2 * a, se.Rational(-3, 4) * a * b, se.Rational(3, 4) * c, -a / 7,
        se.RealDouble(-2.5) * a, se.RealDouble(1.0) * b, 2 * a - 2 * b, se.Rational(-1, 2) * (a + 1),
    ]  # fmt: skip
    assert _Printer().texts(exprs) == [text(e) for e in exprs]
    assert _Printer().texts(exprs) == [
        "-2*a", "-2*b*c", "2*a", "-3*a*b/4", "3*c/4", "-a/7", "-2.5*a", "1.0*b", "2*a - 2*b", "-(a + 1)/2",
    ]  # fmt: skip


def test_distinct_factors_by_value_with_the_zero_first():
    zero = functions.ZERO
    array = np.array([[zero, a + 1, zero], [a + 1, se.Integer(0), b]], dtype=object)
    unique, codes = lower.distinct(array)
    assert unique == [zero, a + 1, b]
    assert codes.tolist() == [[0, 1, 0], [1, 0, 2]]
    unique, codes = lower.distinct(np.array([b, a], dtype=object))
    assert unique == [b, a] and codes.tolist() == [0, 1]
    unique, codes = lower.distinct(np.empty((0, 3), dtype=object))
    assert unique == [] and codes.shape == (0, 3)


def test_the_wanted_symbols_of_each_row_are_those_from_its_own_on():
    x0, x1 = se.symbols("x0 x1")
    first = [x0**2 * x1, x0 * x1**3, x0**3]
    for symbols in ([x0, x1, x0], [x1, x0, se.Dummy()]):
        matrix, _ = differentiate.hessian(first, symbols)
        expected = np.full((3, 3), functions.ZERO, dtype=object)
        position = {s: j for j, s in enumerate(symbols)}
        for i, expr in enumerate(first):
            for symbol, value in differentiate.reverse_sweep({expr: functions.ONE}, set(symbols[i:])).items():
                expected[i, position[symbol]] = expected[position[symbol], i] = value
        assert (matrix == expected).all(), symbols
