"""Hypothesis strategies: random well-shaped gradcli programs over scalar, vector and matrix variables."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

DECLARATIONS = "var a\nvar v: [3]\nvar M: [2, 3]\nconst c = [0.5, -1.5, 2.0]\n"
VARIABLES = {"a": (), "v": (3,), "M": (2, 3)}
SMOOTH = [
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "softplus",
    "atan",
    "square",
    "erf",
    "asinh",
    "gelu",
    "silu",
    "log_sigmoid",
]


def _leaves(shape):
    return {
        (): ["a", "v[1]", "M[1, 2]", "c[0]", "2", "0.5", "sum(v)", "v[-1]"],
        (3,): ["v", "c", "M[0]", "M[1, :]", "v * a"],
        (2,): ["M[:, 1]", "v[1:]", "v[:-1]", "v[::2]"],
        (2, 3): ["M", "M * c"],
    }[shape]


@st.composite
def expression(draw, shape, depth, names):
    """An expression of `shape`; `names` maps earlier definitions to their shapes."""
    usable = [n for n, s in names.items() if s == shape]
    if depth <= 0 or draw(st.integers(0, 4)) == 0:
        return draw(st.sampled_from(_leaves(shape) + usable))
    sub = lambda s: expression(s, depth - 1, names)  # noqa: E731
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return f"{draw(st.sampled_from(SMOOTH))}({draw(sub(shape))})"
    if kind == 1:
        op = draw(st.sampled_from(["+", "-", "*"]))
        other = draw(st.sampled_from([shape, ()]))
        left, right = draw(sub(shape)), draw(sub(other))
        return f"({left} {op} {right})" if draw(st.booleans()) else f"({right} {op} {left})"
    if kind == 2:
        return f"({draw(sub(shape))} / (2 + square({draw(sub(shape))})))"
    if kind == 3:
        inner = draw(sub(shape))
        return draw(
            st.sampled_from(
                [
                    f"log(1 + square({inner}))",
                    f"sqrt(1 + square({inner}))",
                    f"({inner}) ** 3",
                    f"pow(1.5 + sigmoid({inner}), 2.5)",
                ]
            )
        )
    if kind == 4:
        return f"stop({draw(sub(shape))})"
    if kind == 5:
        return f"(-{draw(sub(shape))})"
    if shape == ():
        options = [
            lambda: f"sum({draw(sub((3,)))})",
            lambda: f"mean({draw(sub((2, 3)))})",
            lambda: f"dot({draw(sub((3,)))}, {draw(sub((3,)))})",
            lambda: f"({draw(sub((2,)))})[0]",
            lambda: f"logsumexp({draw(sub((2, 3)))}, axis=(0, 1))",
            lambda: f"prod({draw(sub((3,)))})",
        ]
    elif shape == (3,):
        options = [
            lambda: f"[{draw(sub(()))}, {draw(sub(()))}, {draw(sub(()))}]",
            lambda: f"sum({draw(sub((2, 3)))}, axis=0)",
            lambda: f"({draw(sub((2,)))} @ {draw(sub((2, 3)))})",
            lambda: f"({draw(sub((2, 3)))})[1]",
            lambda: f"mean({draw(sub((2, 3)))}, axis=-2)",
            lambda: f"softmax({draw(sub((3,)))})",
            lambda: f"log_softmax({draw(sub((2, 3)))}, axis=0)[1]",
        ]
    elif shape == (2,):
        options = [
            lambda: f"[{draw(sub(()))}, {draw(sub(()))}]",
            lambda: f"({draw(sub((2, 3)))} @ {draw(sub((3,)))})",
            lambda: f"sum({draw(sub((2, 3)))}, axis=1)",
            lambda: f"({draw(sub((3,)))})[1:]",
            lambda: f"matmul({draw(sub((2, 3)))}, {draw(sub((3,)))})",
        ]
    else:
        options = [
            lambda: f"[{draw(sub((3,)))}, {draw(sub((3,)))}]",
            lambda: f"({draw(sub((2, 3)))}).T.T",
            lambda: f"transpose(({draw(sub((2, 3)))}).T)",
        ]
    return draw(st.sampled_from(options))()


@st.composite
def program(draw, max_definitions=3, depth=3):
    """(program text, output names): a few definitions, each may use the earlier ones."""
    names: dict[str, tuple] = {}
    lines = [DECLARATIONS]
    for i in range(draw(st.integers(1, max_definitions))):
        shape = draw(st.sampled_from([(), (3,), (2,), (2, 3)]))
        lines.append(f"d{i} = {draw(expression(shape, depth, dict(names)))}\n")
        names[f"d{i}"] = shape
    outputs = draw(st.lists(st.sampled_from(sorted(names)), min_size=1, max_size=2, unique=True))
    return "".join(lines), outputs, names


# Values for VARIABLES: rounded floats in [-1.5, 1.5], one array per variable.
VALUES = st.fixed_dictionaries(
    {
        name: st.lists(
            st.floats(-1.5, 1.5, allow_nan=False).map(lambda x: round(x, 3)),
            min_size=int(np.prod(shape)),
            max_size=int(np.prod(shape)),
        ).map(lambda xs, shape=shape: np.array(xs).reshape(shape))
        for name, shape in VARIABLES.items()
    }
)
