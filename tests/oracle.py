"""An independent float64 evaluator of gradcli programs (NumPy on the parsed AST) and finite differences.

It shares nothing with gradcli's SymPy path but the parser's model, so gradients checked against
its central differences are checked against an independent oracle.
"""

from __future__ import annotations

import mpmath
import numpy as np

from gradcli.model import Binary, Call, Index, ListExpr, Name, Num, Program, Slice, Transpose, Unary

_UNARY = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "square": np.square,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "relu": lambda x: np.maximum(x, 0),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "stop": lambda x: x,
    "transpose": np.transpose,
}
_BINARY = {
    "pow": np.power,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "matmul": np.matmul,
    "dot": np.dot,
}


def evaluate(program: Program, values, frozen=None, stop_names=()) -> dict[str, np.ndarray]:
    """Every name's value. `frozen` (id of a stop call or a --stop name -> value) holds the values
    that no gradient flows through: filled on the first evaluation, reused on perturbed ones.
    Values may be float arrays or object arrays of mpmath numbers (see `mp_evaluate`)."""
    env = {k: _array(v) for k, v in values.items()}
    frozen = {} if frozen is None else frozen
    for d in program.definitions:
        value = _array(_expr(d.expr, env, frozen))
        if d.name in stop_names:
            value = frozen.setdefault(d.name, value)
        env[d.name] = value
    return env


_MODE = {"mp": False}


def _array(value):
    if _MODE["mp"]:
        return np.asarray(value, dtype=object)
    return np.asarray(value, dtype=float)


def mp_evaluate(program: Program, values: dict, frozen=None) -> dict:
    """The same evaluation in mpmath at the current mpmath precision (object arrays of mpf);
    `frozen` holds stop(...) values as in `evaluate`."""
    _MODE["mp"] = True
    try:
        mp_values = {k: np.vectorize(mpmath.mpf, otypes=[object])(np.asarray(v)) for k, v in values.items()}
        return evaluate(program, mp_values, frozen)
    finally:
        _MODE["mp"] = False


def mp_gradient_element(program, values, outputs, target, index, digits=30) -> float:
    """dL/d(target[index]) by mpmath.diff at `digits` digits, stop(...) held at the base point."""
    with mpmath.workdps(digits):
        frozen: dict = {}
        mp_evaluate(program, values, frozen)

        def f(x):
            moved = {k: np.array(v, dtype=object) for k, v in values.items()}
            moved[target] = np.array(moved[target], dtype=object)
            moved[target][index] = x
            env = mp_evaluate(program, moved, frozen)
            return mpmath.fsum(mpmath.fsum(np.asarray(env[o], dtype=object).reshape(-1)) for o in outputs)

        return float(mpmath.diff(f, mpmath.mpf(float(np.asarray(values[target])[index]))))


_MP_UNARY = {
    "sin": mpmath.sin,
    "cos": mpmath.cos,
    "tan": mpmath.tan,
    "asin": mpmath.asin,
    "acos": mpmath.acos,
    "atan": mpmath.atan,
    "sinh": mpmath.sinh,
    "cosh": mpmath.cosh,
    "tanh": mpmath.tanh,
    "exp": mpmath.exp,
    "log": mpmath.log,
    "sqrt": mpmath.sqrt,
    "abs": abs,
    "square": lambda x: x * x,
    "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
    "relu": lambda x: max(x, 0),
    "softplus": lambda x: mpmath.log(1 + mpmath.exp(x)),
}


def _expr(node, env, frozen):
    if isinstance(node, Call) and node.function == "stop":
        if id(node) not in frozen:
            frozen[id(node)] = np.asarray(_expr(node.args[0], env, frozen), dtype=float)
        return frozen[id(node)]
    return _plain(node, env, frozen)


def _plain(node, env, frozen):
    if isinstance(node, Num):
        return mpmath.mpf(node.value) if _MODE["mp"] else float(node.value)
    if isinstance(node, Name):
        return env[node.id]
    if isinstance(node, ListExpr):
        return _array([_expr(i, env, frozen) for i in node.items])
    if isinstance(node, Unary):
        value = _expr(node.operand, env, frozen)
        return -value if node.op == "-" else value
    if isinstance(node, Binary):
        a, b = _expr(node.left, env, frozen), _expr(node.right, env, frozen)
        return {
            "+": np.add,
            "-": np.subtract,
            "*": np.multiply,
            "/": np.divide,
            "@": np.matmul,
            "**": np.power,
        }[node.op](a, b)
    if isinstance(node, Call):
        args = [_expr(a, env, frozen) for a in node.args]
        if node.function in ("sum", "mean"):
            axis = None
            for _, value, _span in node.keywords:
                axis = int(_expr(value, env, frozen))
            return (np.sum if node.function == "sum" else np.mean)(args[0], axis=axis)
        if node.function in _BINARY:
            if _MODE["mp"] and node.function in ("maximum", "minimum"):
                pick = max if node.function == "maximum" else min
                return np.frompyfunc(pick, 2, 1)(*args)
            return _BINARY[node.function](*args)
        if _MODE["mp"] and node.function in _MP_UNARY:
            return np.frompyfunc(_MP_UNARY[node.function], 1, 1)(args[0])
        return _UNARY[node.function](args[0])
    if isinstance(node, Index):
        key = tuple(slice(i.start, i.stop, i.step) if isinstance(i, Slice) else i for i in node.items)
        return np.asarray(_expr(node.base, env, frozen))[key]
    if isinstance(node, Transpose):
        return np.transpose(_expr(node.base, env, frozen))
    raise TypeError(node)


def loss(program, values, outputs, weights=None, frozen=None, stop_names=()) -> float:
    env = evaluate(program, values, frozen, stop_names)
    total = 0.0
    for name in outputs:
        w = 1.0 if weights is None or name not in weights else np.asarray(weights[name], float)
        total += float(np.sum(w * env[name]))
    return total


def _richardson(f, x: float, h: float = 1e-3):
    """Richardson-extrapolated central difference of f at x (error O(h^4)), the step scaled by x."""
    step = h * max(1.0, abs(x))
    coarse = (f(x + step) - f(x - step)) / (2 * step)
    fine = (f(x + step / 2) - f(x - step / 2)) / step
    return (4 * fine - coarse) / 3


def central_gradient(
    program, values, outputs, target, weights=None, stop_names=(), h=1e-3, frozen=None
) -> np.ndarray:
    """Richardson-extrapolated central differences of L for every element of `target` (error O(h^4)),
    the step scaled per element; stop(...) values and --stop names are held at the unperturbed point
    (or at `frozen`, filled by an evaluation there)."""
    base = {k: np.array(v, dtype=float) for k, v in values.items()}
    if frozen is None:
        frozen = {}
        evaluate(program, base, frozen, stop_names)

    grad = np.zeros_like(base[target])
    for idx in np.ndindex(grad.shape):

        def at(x, idx=idx):
            moved = {k: v.copy() for k, v in base.items()}
            moved[target][idx] = x
            return loss(program, moved, outputs, weights, frozen, stop_names)

        grad[idx] = _richardson(at, base[target][idx], h)
    return grad


def _elements(values, targets) -> list[tuple[str, tuple]]:
    return [(t, idx) for t in targets for idx in np.ndindex(np.shape(values[t]))]


def central_hessian(program, values, outputs, targets, weights=None, stop_names=()) -> np.ndarray:
    """Second derivatives of L over every element of `targets` (row-major, in order), by central
    differences of central_gradient, every stop held at the unperturbed point."""
    base = {k: np.array(v, dtype=float) for k, v in values.items()}
    frozen: dict = {}
    evaluate(program, base, frozen, stop_names)
    elements = _elements(base, targets)
    out = np.zeros((len(elements), len(elements)))
    for j, (name, idx) in enumerate(elements):

        def gradient(x, name=name, idx=idx):
            moved = {k: v.copy() for k, v in base.items()}
            moved[name][idx] = x
            parts = [
                central_gradient(program, moved, outputs, t, weights, stop_names, 1e-3, frozen)
                for t in targets
            ]
            return np.concatenate([p.reshape(-1) for p in parts])

        out[:, j] = _richardson(gradient, base[name][idx], 1e-2)
    return out


def central_jacobian(program, values, outputs, targets, stop_names=()) -> np.ndarray:
    """d(output element)/d(target element): rows the outputs' elements (row-major, in order)."""
    base = {k: np.array(v, dtype=float) for k, v in values.items()}
    frozen: dict = {}
    evaluate(program, base, frozen, stop_names)
    elements = _elements(base, targets)
    columns = []
    for name, idx in elements:

        def output(x, name=name, idx=idx):
            moved = {k: v.copy() for k, v in base.items()}
            moved[name][idx] = x
            env = evaluate(program, moved, frozen, stop_names)
            return np.concatenate([np.asarray(env[o], dtype=float).reshape(-1) for o in outputs])

        columns.append(_richardson(output, base[name][idx]))
    return np.array(columns).T.reshape(-1, len(elements))
