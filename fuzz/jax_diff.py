"""Differential fuzzing of gradcli against JAX (float64, CPU); outside the test suite (needs `.[bench]`).

    OPENBLAS_NUM_THREADS=1 python fuzz/jax_diff.py [--cases N] [--seed S] [--large 0.25] [--out DIR] [--focus]

Each case draws a random program in gradcli's language together with its JAX translation (the
generator builds both at once: every node is a pair of the language's text and a jax.numpy
closure, so nothing is parsed or evaluated from text), random values, and a random request
(`--of`, `--wrt` including defined names, `--grad-ys`, `--stop`, `stop(...)` in the program,
`--unconnected`), then runs gradcli in process (click's CliRunner, with a wall-clock alarm) and
compares with JAX:

  grad       --order 1 and 2 (JSON `value`) with jax.grad / jax.hessian, --order 3 (targets of at
             most 4 elements) and 4 (scalar targets) with jax.jacfwd of ... of jax.grad; statuses
             with the specification's connectivity (section 2: a lexical path avoiding stops);
  hessian    values with jax.hessian of L over all targets flattened; the closed form (`matrix`),
             when present, evaluated with `gradcli eval` as a definition appended to the program;
  hvp        `hessian --vector` with jax.jvp(jax.grad(L));
  jacobian   with jax.jacobian of the outputs;
  eval       the definitions' values with the JAX forward pass;
  backward   the backward program, evaluated by `gradcli eval`, with jax.grad;
  check      `check --expect` with JAX's gradients as a plain map (exit 0 expected);
  step       `step --lr --steps` (values and losses) with gradient descent on jax.grad.

Programs draw `%` `//` `mod remainder floor_divide fmod` (divisors kept away from 0), `where`
guarding log/sqrt/reciprocal (NaN or inf in the untaken branch, or an infinite cotangent into the
where), and the catalogue's `roll tile repeat fliplr flipud flip cross tensordot sort median
cumprod sinc arange linspace identity eye(N, M, k) full_like`; `--focus` draws these more. A share
of small cases ("lenient") use many zeros and are not skipped where values are not finite: there
NaN and inf entries are compared too (a number where JAX has NaN is README's structural zero and
only counted; gradcli NaN or inf where JAX has a number is a `nonfinite-gradcli` finding).
JAX's sinc is replaced by its series below 1/2 (jnp.sinc's third and fourth derivatives near 0
lose digits; gradcli's agree with mpmath there).

Two paths: small programs with literal values (per element, exact where the inputs are), also with
`--symbolic none`; and large ones (40x50 matrices, values in .npy files through `--at NAME=@FILE`,
`--limit elements=500`) that run on whole arrays. Kinks follow gradcli's documented (TensorFlow)
conventions, so the JAX side writes relu, abs, maximum, minimum, clip and leaky_relu with `where`
to the same convention. An element agrees when |gradcli - jax| <= 1e-9 * (largest magnitude of
that output) + 1e-12. Cases where JAX's value is not finite are skipped (counted). Findings go to
DIR/findings.jsonl with the program, the command line, gradcli's output and JAX's value.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import math
import os
import random
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import jax.scipy.special as jss  # noqa: E402
import numpy as np  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from gradcli.cli import cli  # noqa: E402

jax.config.update("jax_enable_x64", True)

RTOL, ATOL = 1e-9, 1e-12
FOCUS = False  # set by --focus
NEW_WORDS = ["roll(", "tile(", "repeat(", "fliplr(", "flipud(", "cross(", "tensordot(", "sort(", "median("]
NEW_WORDS += ["cumprod(", "sinc(", "arange(", "linspace(", "identity(", "full_like(", "eye(", " % ", " // "]
NEW_WORDS += ["mod(", "floor_divide(", "fmod(", "(where("]
ALARM = 90  # seconds: a command running longer is reported as a hang


@dataclasses.dataclass
class Node:
    text: str
    fn: Callable
    shape: tuple
    deps: frozenset  # names used outside stop(...)


def _binary(text: str, f, a: Node, b: Node, shape) -> Node:
    """f of two nodes, spelt `text`, broadcast to `shape`."""
    return Node(text, lambda env: jnp.broadcast_to(f(a.fn(env), b.fn(env)), shape), shape, a.deps | b.deps)


def size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape else 1


def shape_text(shape) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def sinc(x):
    """np.sinc with derivatives accurate near 0: jnp.sinc's third and fourth derivatives at 0.001
    lose 4 digits (0.0194834 for 0.0194818 by mpmath); below 1/2 the Maclaurin series of
    sin(pi x) / (pi x) to (pi x) ** 40 instead."""
    small = jnp.abs(x) < 0.5
    y = jnp.pi * jnp.where(small, x, 0.0)
    series = sum((-1) ** k * y ** (2 * k) / float(math.factorial(2 * k + 1)) for k in range(21))
    return jnp.where(small, series, jnp.sinc(jnp.where(small, 1.0, x)))


def _where(c, a, b):
    return jnp.where(c, a, b)


# name -> (JAX function, domain): "any" real argument, "bounded" (wrapped in 0.9 * tanh),
# "positive" (wrapped in 0.5 + square), "above1" (1.5 + square). Kinks: gradcli's convention.
UNARY = {
    "sin": (jnp.sin, "any"),
    "cos": (jnp.cos, "any"),
    "tan": (jnp.tan, "bounded"),
    "asin": (jnp.arcsin, "bounded"),
    "acos": (jnp.arccos, "bounded"),
    "atan": (jnp.arctan, "any"),
    "sinh": (jnp.sinh, "bounded"),
    "cosh": (jnp.cosh, "bounded"),
    "tanh": (jnp.tanh, "any"),
    "exp": (jnp.exp, "bounded"),
    "log": (jnp.log, "positive"),
    "sqrt": (jnp.sqrt, "positive"),
    "abs": (lambda x: jnp.where(x > 0, x, jnp.where(x < 0, -x, 0.0 * x)), "any"),
    "square": (jnp.square, "any"),
    "sigmoid": (jax.nn.sigmoid, "any"),
    "relu": (lambda x: jnp.where(x > 0, x, 0.0 * x), "any"),
    "softplus": (jax.nn.softplus, "any"),
    "log1p": (jnp.log1p, "positive"),
    "expm1": (jnp.expm1, "bounded"),
    "log2": (jnp.log2, "positive"),
    "log10": (jnp.log10, "positive"),
    "exp2": (jnp.exp2, "bounded"),
    "cbrt": (jnp.cbrt, "positive"),
    "reciprocal": (jnp.reciprocal, "positive"),
    "sign": (jnp.sign, "any"),
    "floor": (jnp.floor, "any"),
    "ceil": (jnp.ceil, "any"),
    "round": (jnp.round, "any"),
    "erf": (jss.erf, "any"),
    "erfc": (jss.erfc, "any"),
    "asinh": (jnp.arcsinh, "any"),
    "acosh": (jnp.arccosh, "above1"),
    "atanh": (jnp.arctanh, "bounded"),
    "gelu": (lambda x: jax.nn.gelu(x, approximate=False), "any"),
    "silu": (jax.nn.silu, "any"),
    "log_sigmoid": (jax.nn.log_sigmoid, "any"),
    "softsign": (jax.nn.soft_sign, "any"),
    "elu": (jax.nn.elu, "any"),
    "leaky_relu": (lambda x: jnp.where(x > 0, x, 0.01 * x), "any"),
}
REDUCTIONS = ["sum", "mean", "prod", "max", "min", "var", "std", "logsumexp", "norm"]
JAX_REDUCE = {
    "sum": jnp.sum,
    "mean": jnp.mean,
    "prod": jnp.prod,
    "max": jnp.max,
    "min": jnp.min,
    "var": jnp.var,
    "std": jnp.std,
    "logsumexp": jss.logsumexp,
}


class Gen:
    """Random expressions of a given shape, each as gradcli text and a JAX closure."""

    def __init__(self, rng: random.Random, exact: bool, big: bool, zeros: bool = False):
        self.rng = rng
        self.exact = exact
        self.big = big
        self.zeros = zeros  # literals are often 0 (kinks, where's untaken branches, structural zeros)
        self.names: dict[str, tuple] = {}  # name -> shape (declared and defined so far)
        self.defs: dict[str, Node] = {}

    # ---- leaves -------------------------------------------------------------------------
    def number(self) -> str:
        if self.zeros and self.rng.random() < 0.3:
            return "0" if self.exact else "0.0"
        if self.exact:
            return str(self.rng.randint(-3, 3))
        return repr(round(self.rng.uniform(-1.5, 1.5), self.rng.randint(1, 3)))

    def literal(self, shape) -> tuple[str, np.ndarray]:
        if not shape:
            text = self.number()
            return text, np.array(float(text))
        parts = [self.literal(shape[1:]) for _ in range(shape[0])]
        return "[" + ", ".join(p[0] for p in parts) + "]", np.array([p[1] for p in parts])

    def name_node(self, name: str) -> Node:
        return Node(name, lambda env: env[name], self.names[name], frozenset([name]))

    def leaf(self, shape) -> Node:
        rng = self.rng
        shape = tuple(shape)
        same = [n for n, s in self.names.items() if s == shape]
        if same and rng.random() < 0.75:
            return self.name_node(rng.choice(same))
        derived = [d for n in self.names for d in self.derive(n, shape)]
        if derived and rng.random() < 0.8:
            return rng.choice(derived)
        if self.defs and rng.random() < 0.15:  # an earlier definition written out again
            name = rng.choice(list(self.defs))
            node = self.defs[name]
            if node.shape == tuple(shape):
                return Node(f"({node.text})", node.fn, node.shape, node.deps)
        if size(shape) <= 6:
            text, value = self.literal(shape)
            return Node(text, lambda env: jnp.asarray(value, dtype=jnp.float64), tuple(shape), frozenset())
        c = self.number()
        return Node(
            f"full({shape_text(shape)}, {c})",
            lambda env: jnp.full(shape, float(c)),
            tuple(shape),
            frozenset(),
        )

    def derive(self, name: str, shape: tuple) -> list[Node]:
        """Ways to make `shape` from the name: transpose, index, reduce, broadcast, reshape."""
        s = self.names[name]
        base = self.name_node(name)
        deps = base.deps
        out = []

        def node(text, fn):
            out.append(Node(text, fn, shape, deps))

        if len(s) == 2 and s[::-1] == shape:
            node(f"{name}.T", lambda env: env[name].T)
        if s and s[1:] == shape:
            i = self.rng.randrange(-s[0], s[0])
            node(f"{name}[{i}]", lambda env, i=i: env[name][i])
            node(f"sum({name}, axis=0)", lambda env: jnp.sum(env[name], axis=0))
        if s and s[:-1] == shape:
            i = self.rng.randrange(-s[-1], s[-1])
            node(f"{name}[..., {i}]", lambda env, i=i: env[name][..., i])
            node(f"mean({name}, axis=-1)", lambda env: jnp.mean(env[name], axis=-1))
        if len(s) < len(shape) and shape[len(shape) - len(s) :] == s:
            node(f"broadcast_to({name}, {shape_text(shape)})", lambda env: jnp.broadcast_to(env[name], shape))
            if not s:
                node(f"({name} * ones({shape_text(shape)}))", lambda env: env[name] * jnp.ones(shape))
        if not shape and s:
            node(f"sum({name})", lambda env: jnp.sum(env[name]))
            node(f"{name}.max()", lambda env: jnp.max(env[name]))
        if s and size(s) == size(shape) and len(shape) >= 1 and s != shape:
            node(f"reshape({name}, {shape_text(shape)})", lambda env: jnp.reshape(env[name], shape))
        if len(s) == 2 and len(shape) == 2 and s[0] >= shape[0] and s[1] >= shape[1] and s != shape:
            a, b = s[0] - shape[0], s[1] - shape[1]
            node(f"{name}[{a}:, :{shape[1]}]", lambda env: env[name][a:, : shape[1]])
            if b:
                node(f"{name}[:{shape[0]}, {b}:]", lambda env: env[name][: shape[0], b:])
        if len(s) == 1 and len(shape) == 1 and s[0] > shape[0]:
            k = s[0] - shape[0]
            node(f"{name}[{k}:]", lambda env: env[name][k:])
            node(f"{name}[:{k - 1}:-1]", lambda env: env[name][: k - 1 : -1])
        return out

    # ---- wrappers that keep a function inside its domain --------------------------------
    def wrapped(self, domain: str, a: Node) -> Node:
        if domain == "any":
            return a
        if domain == "bounded":
            return Node(f"(0.9 * tanh({a.text}))", lambda env: 0.9 * jnp.tanh(a.fn(env)), a.shape, a.deps)
        low = "0.5" if domain == "positive" else "1.5"
        return Node(
            f"({low} + square({a.text}))", lambda env: float(low) + jnp.square(a.fn(env)), a.shape, a.deps
        )

    # ---- expressions --------------------------------------------------------------------
    def expr(self, shape, depth: int) -> Node:
        shape = tuple(shape)
        if depth <= 0 or self.rng.random() < 0.15:
            return self.leaf(shape)
        makers = [self.unary, self.unary, self.binary, self.binary, self.power, self.extremum]
        makers += [self.where, self.clip, self.reduce, self.stop, self.index, self.shape_op]
        makers += [self.product, self.softmax, self.linalg, self.two_arg, self.cumsum, self.neg]
        makers += [self.modulo, self.modulo, self.catalogue, self.catalogue, self.catalogue, self.guarded]
        if FOCUS:  # --focus: mostly the newer rows
            makers += [self.modulo, self.guarded] * 3 + [self.catalogue] * 12
        for _ in range(12):
            node = self.rng.choice(makers)(shape, depth - 1)
            if node is not None:
                return node
        return self.leaf(shape)

    def neg(self, shape, d):
        a = self.expr(shape, d)
        return Node(f"(-{a.text})", lambda env: -a.fn(env), shape, a.deps)

    def unary(self, shape, d):
        name = self.rng.choice(list(UNARY))
        f, domain = UNARY[name]
        a = self.wrapped(domain, self.expr(shape, d))
        extra, jf = "", f
        if name == "elu" and self.rng.random() < 0.5:
            extra, jf = ", alpha=0.5", lambda x: jax.nn.elu(x, 0.5)
        if name == "leaky_relu" and self.rng.random() < 0.5:
            extra, jf = ", negative_slope=0.2", lambda x: jnp.where(x > 0, x, 0.2 * x)
        return Node(f"{name}({a.text}{extra})", lambda env: jf(a.fn(env)), shape, a.deps)

    def broadcast_partner(self, shape):
        """A shape that broadcasts against `shape` to `shape`."""
        rng = self.rng
        options = [shape, shape, ()]
        if len(shape) >= 1:
            options.append(shape[1:])
        if len(shape) == 2:
            options.append((shape[0], 1))
        return rng.choice(options)

    def binary(self, shape, d):
        op = self.rng.choice(["+", "-", "*", "/", "*", "+"])
        a = self.expr(shape, d)
        b = self.expr(self.broadcast_partner(shape), d)
        if op == "/":
            den = Node(f"(1 + square({b.text}))", lambda env: 1.0 + jnp.square(b.fn(env)), b.shape, b.deps)
            if self.rng.random() < 0.5:
                return Node(
                    f"({a.text} / {den.text})", lambda env: a.fn(env) / den.fn(env), shape, a.deps | b.deps
                )
            return Node(
                f"({den.text} / (2 + square({a.text})))",
                lambda env: den.fn(env) / (2 + jnp.square(a.fn(env))),
                shape,
                a.deps | b.deps,
            )
        f = {"+": jnp.add, "-": jnp.subtract, "*": jnp.multiply}[op]
        if self.rng.random() < 0.5:
            a, b = b, a
        return Node(f"({a.text} {op} {b.text})", lambda env: f(a.fn(env), b.fn(env)), shape, a.deps | b.deps)

    def power(self, shape, d):
        rng = self.rng
        kind = rng.randrange(4)
        if kind == 0:  # integer power of anything
            k = rng.choice([2, 3, 4, 0, 1])
            a = self.expr(shape, d)
            return Node(f"({a.text}) ** {k}", lambda env: a.fn(env) ** k, shape, a.deps)
        a = self.wrapped("positive", self.expr(shape, d))
        if kind == 1:
            k = rng.choice(["-1", "-2", "0.5", "(1/2)", "1.5", "-0.5", "(1/3)", "2.5"])
            kv = {"(1/2)": 0.5, "(1/3)": 1 / 3}.get(k)
            kv = float(k) if kv is None else kv
            if k in ("-1", "-2"):
                ki = int(k)
                return Node(f"{a.text} ** {k}", lambda env: a.fn(env) ** ki, shape, a.deps)
            return Node(f"{a.text} ** {k}", lambda env: jnp.power(a.fn(env), kv), shape, a.deps)
        e = self.expr(rng.choice([shape, ()]), d)
        b = Node(f"sin({e.text})", lambda env: jnp.sin(e.fn(env)), e.shape, e.deps)
        spell = "pow({}, {})" if kind == 2 else "({} ** {})"
        return Node(
            spell.format(a.text, b.text), lambda env: jnp.power(a.fn(env), b.fn(env)), shape, a.deps | b.deps
        )

    def extremum(self, shape, d):
        which = self.rng.choice(["maximum", "minimum"])
        a = self.expr(shape, d)
        b = self.expr(self.broadcast_partner(shape), d)
        if self.rng.random() < 0.5:  # maximum's result has `shape` either way
            cmp = jnp.greater_equal if which == "maximum" else jnp.less_equal
            return Node(
                f"{which}({a.text}, {b.text})",
                lambda env: jnp.where(cmp(a.fn(env), b.fn(env)), a.fn(env), b.fn(env)),
                shape,
                a.deps | b.deps,
            )
        cmp = jnp.greater_equal if which == "maximum" else jnp.less_equal
        return Node(
            f"{which}({b.text}, {a.text})",
            lambda env: jnp.broadcast_to(jnp.where(cmp(b.fn(env), a.fn(env)), b.fn(env), a.fn(env)), shape),
            shape,
            a.deps | b.deps,
        )

    def where(self, shape, d):
        c1 = self.expr(shape, d)
        c2 = self.expr(self.broadcast_partner(shape), d)
        a = self.expr(shape, d)
        b = self.expr(self.broadcast_partner(shape), d)
        op = self.rng.choice(["<", ">", "<=", ">=", "!="])
        cmp = {
            "<": jnp.less,
            ">": jnp.greater,
            "<=": jnp.less_equal,
            ">=": jnp.greater_equal,
            "!=": jnp.not_equal,
        }[op]
        deps = c1.deps | c2.deps | a.deps | b.deps
        if self.rng.random() < 0.3:  # a comparison as a number
            return Node(
                f"(({c1.text} {op} {c2.text}) * {a.text})",
                lambda env: jnp.where(cmp(c1.fn(env), c2.fn(env)), 1.0, 0.0) * a.fn(env),
                shape,
                c1.deps | c2.deps | a.deps,
            )
        return Node(
            f"where({c1.text} {op} {c2.text}, {a.text}, {b.text})",
            lambda env: jnp.broadcast_to(jnp.where(cmp(c1.fn(env), c2.fn(env)), a.fn(env), b.fn(env)), shape),
            shape,
            deps,
        )

    def clip(self, shape, d):
        x = self.expr(shape, d)
        if self.rng.random() < 0.5:
            lo_t, hi_t = sorted([round(self.rng.uniform(-1, 1), 2) for _ in range(2)])
            hi_t += 0.1
            lo = Node(repr(lo_t), lambda env: jnp.float64(lo_t), (), frozenset())
            hi = Node(repr(hi_t), lambda env: jnp.float64(hi_t), (), frozenset())
        else:
            e1, e2 = self.expr((), d), self.expr((), d)
            lo = Node(f"(tanh({e1.text}) - 1)", lambda env: jnp.tanh(e1.fn(env)) - 1, (), e1.deps)
            hi = Node(f"(tanh({e2.text}) + 1)", lambda env: jnp.tanh(e2.fn(env)) + 1, (), e2.deps)

        def f(env):
            v, lv, hv = x.fn(env), lo.fn(env), hi.fn(env)
            inside = (v >= lv) & (v <= hv)
            return jnp.where(
                inside, v, jnp.where(v < lv, jnp.broadcast_to(lv, v.shape), jnp.broadcast_to(hv, v.shape))
            )

        return Node(f"clip({x.text}, {lo.text}, {hi.text})", f, shape, x.deps | lo.deps | hi.deps)

    def stop(self, shape, d):
        a = self.expr(shape, d)
        return Node(f"stop({a.text})", lambda env: jax.lax.stop_gradient(a.fn(env)), shape, frozenset())

    def dim(self) -> int:
        return self.rng.choice([40, 50, 30] if self.big else [2, 3])

    def reduce(self, shape, d):
        rng = self.rng
        name = rng.choice(REDUCTIONS)
        keep = rng.random() < 0.3
        if rng.random() < 0.3 and not shape:  # over everything
            src_shape = rng.choice([(self.dim(),), (self.dim(), self.dim())])
            axis, axis_text, keep = None, "", False
        elif keep:
            ones = [i for i, s in enumerate(shape) if s == 1]
            if not ones:
                return None
            axis = rng.choice(ones)
            src_shape = shape[:axis] + (self.dim(),) + shape[axis + 1 :]
            axis_text = f", axis={axis if rng.random() < 0.5 else axis - len(shape)}, keepdims=True"
        else:
            if len(shape) >= 2:
                return None
            axis = rng.randint(0, len(shape))
            src_shape = shape[:axis] + (self.dim(),) + shape[axis:]
            axis_text = f", axis={axis if rng.random() < 0.5 else axis - len(src_shape)}"
        if name == "prod" and (size(src_shape) if axis is None else src_shape[axis]) > 6:
            return None
        src = self.expr(src_shape, d)
        if name == "norm":
            if axis is None and len(src_shape) == 2:
                ords = [None, 1, float("inf")]
            else:
                ords = [None, 1, 2, float("inf"), 3]
            order = rng.choice(ords)
            order_text = "" if order is None else f", ord={'inf' if order == float('inf') else order}"
            return Node(
                f"norm({src.text}{order_text}{axis_text})",
                lambda env: jnp.linalg.norm(src.fn(env), ord=order, axis=axis, keepdims=keep),
                shape,
                src.deps,
            )
        f = JAX_REDUCE[name]
        text = f"{name}({src.text}{axis_text})"
        if rng.random() < 0.2 and name in ("sum", "mean", "max", "min", "prod"):
            text = f"({src.text}).{name}({axis_text[2:]})"
        return Node(text, lambda env: f(src.fn(env), axis=axis, keepdims=keep), shape, src.deps)

    def softmax(self, shape, d):
        if not shape:
            return None
        name = self.rng.choice(["softmax", "log_softmax"])
        axis = self.rng.randrange(-len(shape), len(shape))
        src = self.expr(shape, d)
        f = jax.nn.softmax if name == "softmax" else jax.nn.log_softmax
        text = f"{name}({src.text})" if axis == -1 else f"{name}({src.text}, axis={axis})"
        return Node(text, lambda env: f(src.fn(env), axis=axis), shape, src.deps)

    def cumsum(self, shape, d):
        return self._scan("cumsum", jnp.cumsum, shape, d)

    def _scan(self, name, jax_function, shape, d):
        """cumsum or cumprod: along a drawn axis, or of a flattened 2-d array (axis=None)."""
        if not shape:
            return None
        if len(shape) == 1 and self.rng.random() < 0.3 and shape[0] % 2 == 0 and shape[0] <= 6:
            src = self.expr((2, shape[0] // 2), d)
            return Node(f"{name}({src.text})", lambda env: jax_function(src.fn(env)), shape, src.deps)
        axis = self.rng.randrange(len(shape))
        src = self.expr(shape, d)
        return Node(
            f"{name}({src.text}, axis={axis})",
            lambda env: jax_function(src.fn(env), axis=axis),
            shape,
            src.deps,
        )

    def two_arg(self, shape, d):
        name = self.rng.choice(["atan2", "hypot", "logaddexp", "arctan2"])
        a = self.expr(shape, d)
        b = e = self.expr(self.broadcast_partner(shape), d)
        if name in ("atan2", "arctan2", "hypot"):
            b = Node(f"(1 + square({e.text}))", lambda env: 1.0 + jnp.square(e.fn(env)), e.shape, e.deps)
        f = {"atan2": jnp.arctan2, "arctan2": jnp.arctan2, "hypot": jnp.hypot, "logaddexp": jnp.logaddexp}[
            name
        ]
        return _binary(f"{name}({a.text}, {b.text})", f, a, b, shape)

    def index(self, shape, d):
        rng = self.rng
        kind = rng.randrange(7)
        if kind == 0:  # x[i]
            n = self.dim()
            i = rng.randrange(-n, n)
            src = self.expr((n,) + shape, d)
            return Node(f"({src.text})[{i}]", lambda env: src.fn(env)[i], shape, src.deps)
        if kind == 1 and shape:  # x[:, i]
            n = self.dim()
            i = rng.randrange(-n, n)
            src = self.expr((shape[0], n) + shape[1:], d)
            return Node(f"({src.text})[:, {i}]", lambda env: src.fn(env)[:, i], shape, src.deps)
        if kind == 2 and shape:  # a slice with a step
            want = shape[0]
            for _ in range(30):
                n = want + rng.randint(0, 4)
                step = rng.choice([1, 2, -1, -2, 3, None])
                start = rng.choice([None, rng.randrange(-n, n)])
                stop = rng.choice([None, rng.randrange(-n - 1, n + 1)])
                sl = slice(start, stop, step)
                if len(range(n)[sl]) == want:
                    text = f"{'' if start is None else start}:{'' if stop is None else stop}"
                    text += "" if step is None else f":{step}"
                    src = self.expr((n,) + shape[1:], d)
                    return Node(
                        f"({src.text})[{text}]", lambda env, src=src, sl=sl: src.fn(env)[sl], shape, src.deps
                    )
            return None
        if kind == 3 and shape:  # fancy indices, repeats allowed
            n = self.dim() if rng.random() < 0.7 else shape[0]
            idx = [rng.randrange(-n, n) for _ in range(shape[0])]
            src = self.expr((n,) + shape[1:], d)
            arr = np.array(idx)
            return Node(f"({src.text})[{idx}]", lambda env: src.fn(env)[arr], shape, src.deps)
        if kind == 4 and shape and shape[-1] == 1:  # new axis
            src = self.expr(shape[:-1], d)
            text = (
                f"({src.text})[..., None]"
                if rng.random() < 0.5
                else f"({src.text})[{':, ' * (len(shape) - 1)}None]"
            )
            return Node(text, lambda env: src.fn(env)[..., None], shape, src.deps)
        if kind == 5:  # x[..., i]
            n = self.dim()
            i = rng.randrange(-n, n)
            src = self.expr(shape + (n,), d)
            return Node(f"({src.text})[..., {i}]", lambda env: src.fn(env)[..., i], shape, src.deps)
        if kind == 6 and shape:  # functional update
            base = self.expr(shape, d)
            i = rng.randrange(-shape[0], shape[0])
            upd = self.expr(shape[1:], d)
            return Node(
                f"({base.text}).at[{i}].add({upd.text})",
                lambda env: base.fn(env).at[i].add(upd.fn(env)),
                shape,
                base.deps | upd.deps,
            )
        return None

    def shape_op(self, shape, d):
        rng = self.rng
        kind = rng.randrange(8)
        if kind == 0 and len(shape) == 2:
            src = self.expr(shape[::-1], d)
            text = f"({src.text}).T" if rng.random() < 0.5 else f"transpose({src.text})"
            return Node(text, lambda env: src.fn(env).T, shape, src.deps)
        if kind == 1 and len(shape) == 2:  # reshape from the other factorisation or flat
            src_shape = rng.choice([(shape[0] * shape[1],), shape[::-1]])
            src = self.expr(src_shape, d)
            spelled = rng.choice([shape_text(shape), f"[{shape[0]}, -1]", f"[-1, {shape[1]}]"])
            if rng.random() < 0.3:
                text = f"({src.text}).reshape({shape[0]}, {shape[1]})"
            else:
                text = f"reshape({src.text}, {spelled})"
            return Node(text, lambda env: jnp.reshape(src.fn(env), shape), shape, src.deps)
        if kind == 2 and len(shape) == 1:
            n = shape[0]
            factors = [(a, n // a) for a in range(2, n) if n % a == 0 and n // a > 1]
            if not factors:
                return None
            src_shape = rng.choice(factors)
            src = self.expr(src_shape, d)
            return Node(
                f"reshape({src.text}, [-1])", lambda env: jnp.reshape(src.fn(env), (-1,)), shape, src.deps
            )
        if kind == 3 and shape:
            axis = rng.randrange(len(shape))
            src = self.expr(shape, d)
            return Node(
                f"flip({src.text}, axis={axis})",
                lambda env: jnp.flip(src.fn(env), axis=axis),
                shape,
                src.deps,
            )
        if kind == 4 and shape and shape[0] >= 2:  # concatenate along axis 0
            k = rng.randint(1, shape[0] - 1)
            a = self.expr((k,) + shape[1:], d)
            b = self.expr((shape[0] - k,) + shape[1:], d)
            return Node(
                f"concatenate([{a.text}, {b.text}], axis=0)",
                lambda env: jnp.concatenate([a.fn(env), b.fn(env)], axis=0),
                shape,
                a.deps | b.deps,
            )
        if kind == 5 and shape and shape[-1] in (2, 3):  # stack along the last axis
            parts = [self.expr(shape[:-1], d) for _ in range(shape[-1])]
            return Node(
                f"stack([{', '.join(p.text for p in parts)}], axis={len(shape) - 1})",
                lambda env: jnp.stack([p.fn(env) for p in parts], axis=len(shape) - 1),
                shape,
                frozenset().union(*(p.deps for p in parts)),
            )
        if kind == 6 and shape and shape[0] == 1:
            src = self.expr(shape[1:], d)
            return Node(
                f"expand_dims({src.text}, 0)", lambda env: jnp.expand_dims(src.fn(env), 0), shape, src.deps
            )
        if kind == 7 and len(shape) <= 1:
            src = self.expr(shape + (1,), d)
            return Node(
                f"squeeze({src.text}, axis=-1)",
                lambda env: jnp.squeeze(src.fn(env), axis=-1),
                shape,
                src.deps,
            )
        return None

    def product(self, shape, d):
        rng = self.rng
        k = self.dim()
        if len(shape) == 2:
            kind = rng.randrange(4)
            if kind == 3:
                a, b = self.expr((shape[0],), d), self.expr((shape[1],), d)
                return Node(
                    f"outer({a.text}, {b.text})",
                    lambda env: jnp.outer(a.fn(env), b.fn(env)),
                    shape,
                    a.deps | b.deps,
                )
            a, b = self.expr((shape[0], k), d), self.expr((k, shape[1]), d)
            spell = ["({} @ {})", "matmul({}, {})", "dot({}, {})"][kind]
            if rng.random() < 0.2:
                spell = 'einsum("ij,jk->ik", {}, {})'
            return Node(
                spell.format(a.text, b.text), lambda env: a.fn(env) @ b.fn(env), shape, a.deps | b.deps
            )
        if len(shape) == 1:
            if rng.random() < 0.5:
                a, b = self.expr((shape[0], k), d), self.expr((k,), d)
            else:
                b, a = self.expr((k, shape[0]), d), self.expr((k,), d)
                return Node(
                    f"({a.text} @ {b.text})", lambda env: a.fn(env) @ b.fn(env), shape, a.deps | b.deps
                )
            spell = rng.choice(["({} @ {})", "matmul({}, {})", "dot({}, {})"])
            return Node(
                spell.format(a.text, b.text), lambda env: a.fn(env) @ b.fn(env), shape, a.deps | b.deps
            )
        if not shape:
            a, b = self.expr((k,), d), self.expr((k,), d)
            spell = rng.choice(["({} @ {})", "dot({}, {})", "inner({}, {})", 'einsum("i,i->", {}, {})'])
            return Node(
                spell.format(a.text, b.text),
                lambda env: jnp.dot(a.fn(env), b.fn(env)),
                shape,
                a.deps | b.deps,
            )
        return None

    def linalg(self, shape, d):
        rng = self.rng
        n = rng.choice([2, 3]) if not self.big or rng.random() < 0.5 else 30
        kind = rng.randrange(6)
        e = self.expr((n, n), d)
        a = Node(
            f"(0.05 * tanh({e.text}) + 2 * eye({n}))",
            lambda env: 0.05 * jnp.tanh(e.fn(env)) + 2 * jnp.eye(n),
            (n, n),
            e.deps,
        )
        if not shape and kind <= 2:
            name, f = [
                ("det", jnp.linalg.det),
                ("logdet", lambda m: jnp.linalg.slogdet(m)[1]),
                ("trace", jnp.trace),
            ][kind]
            return Node(f"{name}({a.text})", lambda env: f(a.fn(env)), shape, a.deps)
        if shape == (n,) and kind == 3:
            b = self.expr((n,), d)
            return Node(
                f"solve({a.text}, {b.text})",
                lambda env: jnp.linalg.solve(a.fn(env), b.fn(env)),
                shape,
                a.deps | b.deps,
            )
        if shape == (n,) and kind == 4:
            return Node(f"diag({e.text})", lambda env: jnp.diag(e.fn(env)), shape, e.deps)
        if shape == (n, n) and kind == 5:
            return Node(f"inv({a.text})", lambda env: jnp.linalg.inv(a.fn(env)), shape, a.deps)
        return None

    # ---- % and //, the recent catalogue rows, where around functions with a pole ---------
    def divisor(self, shape, d) -> Node:
        """A divisor away from 0: a literal, or an expression kept positive or negative."""
        rng = self.rng
        kind = rng.randrange(3)
        if kind == 0:
            text = rng.choice(["2", "-2", "3", "0.75", "-1.5", "(1/2)", "2.5"])
            value = 0.5 if text == "(1/2)" else float(text)
            return Node(text, lambda env: jnp.float64(value), (), frozenset())
        e = self.expr(shape, d)
        if kind == 1:
            return Node(f"(0.5 + square({e.text}))", lambda env: 0.5 + jnp.square(e.fn(env)), shape, e.deps)
        return Node(f"(-0.5 - square({e.text}))", lambda env: -0.5 - jnp.square(e.fn(env)), shape, e.deps)

    def modulo(self, shape, d):
        rng = self.rng
        a = self.expr(shape, d)
        b = self.divisor(self.broadcast_partner(shape), d)
        spell, f = rng.choice(
            [
                ("({}) % ({})", jnp.mod),
                ("({}) // ({})", jnp.floor_divide),
                ("mod({}, {})", jnp.mod),
                ("remainder({}, {})", jnp.mod),
                ("floor_divide({}, {})", jnp.floor_divide),
                ("fmod({}, {})", jnp.fmod),
            ]
        )
        return _binary(f"({spell.format(a.text, b.text)})", f, a, b, shape)

    def guarded(self, shape, d):
        """where(...) guarding a function with a pole or a restricted domain, or inside one."""
        rng = self.rng
        a = self.expr(shape, d)
        name, f = rng.choice([("log", jnp.log), ("sqrt", jnp.sqrt), ("reciprocal", jnp.reciprocal)])
        op, cmp = rng.choice([(">", jnp.greater), ("!=", jnp.not_equal), (">=", jnp.greater_equal)])
        if name != "reciprocal" and op == "!=":
            op, cmp = ">", jnp.greater
        cond = f"{a.text} {op} 0"
        kind = rng.randrange(3)
        if kind == 0:  # the untaken branch is NaN or infinite; its derivative too
            other = self.expr(self.broadcast_partner(shape), d)
            return Node(
                f"where({cond}, {name}({a.text}), {other.text})",
                lambda env: jnp.broadcast_to(
                    jnp.where(cmp(a.fn(env), 0), f(a.fn(env)), other.fn(env)), shape
                ),
                shape,
                a.deps | other.deps,
            )
        if kind == 1:  # the safe pattern: a harmless value in the untaken branch
            return Node(
                f"{name}(where({cond}, {a.text}, 1))",
                lambda env: f(jnp.where(cmp(a.fn(env), 0), a.fn(env), 1.0)),
                shape,
                a.deps,
            )
        # the function of the where: an infinite cotangent into where where the condition fails
        return Node(
            f"{name}(where({cond}, {a.text}, 0))",
            lambda env: f(jnp.where(cmp(a.fn(env), 0), a.fn(env), 0.0)),
            shape,
            a.deps,
        )

    def catalogue(self, shape, d):
        rng = self.rng
        makers = [self.roll, self.tile, self.repeat, self.flips, self.cross, self.tensordot]
        makers += [self.sort, self.median, self.cumprod, self.sinc, self.constructor]
        return rng.choice(makers)(shape, d)

    def roll(self, shape, d):
        if not shape:
            return None
        rng = self.rng
        src = self.expr(shape, d)
        kind = rng.randrange(3)
        if kind == 0:
            shift, axis = rng.randint(-7, 7), None
            text = f"roll({src.text}, {shift})"
        elif kind == 1:
            shift, axis = rng.randint(-7, 7), rng.randrange(-len(shape), len(shape))
            text = f"roll({src.text}, {shift}, axis={axis})"
        else:
            shift = (rng.randint(-4, 4), rng.randint(-4, 4))
            axis = (rng.randrange(len(shape)), rng.randrange(len(shape)))  # the same axis twice adds
            text = f"roll({src.text}, ({shift[0]}, {shift[1]}), axis=({axis[0]}, {axis[1]}))"
        return Node(text, lambda env: jnp.roll(src.fn(env), shift, axis), shape, src.deps)

    def tile(self, shape, d):
        rng = self.rng
        if len(shape) == 1:
            n = shape[0]
            r = rng.choice([k for k in range(1, n + 1) if n % k == 0])
            src = self.expr((n // r,), d)
            return Node(f"tile({src.text}, {r})", lambda env: jnp.tile(src.fn(env), r), shape, src.deps)
        if len(shape) == 2:
            m, n = shape
            r1 = rng.choice([k for k in range(1, m + 1) if m % k == 0])
            r2 = rng.choice([k for k in range(1, n + 1) if n % k == 0])
            if rng.random() < 0.3:  # a vector tiled into a matrix
                src = self.expr((n // r2,), d)
                reps = (m, r2)
            else:
                src = self.expr((m // r1, n // r2), d)
                reps = (r1, r2)
            return Node(
                f"tile({src.text}, ({reps[0]}, {reps[1]}))",
                lambda env: jnp.tile(src.fn(env), reps),
                shape,
                src.deps,
            )
        return None

    def repeat(self, shape, d):
        rng = self.rng
        if not shape:
            return None
        axis = rng.randrange(len(shape)) if len(shape) > 1 else rng.choice([0, None])
        n = shape[axis or 0]
        if rng.random() < 0.5:  # one count
            r = rng.choice([k for k in range(1, n + 1) if n % k == 0])
            src_shape = list(shape)
            src_shape[axis or 0] = n // r
            counts = r
            counts_text = str(r)
        else:  # one count per element, zeros allowed
            k = rng.randint(1, 3)
            cuts = sorted(rng.randint(0, n) for _ in range(k - 1))
            counts = [b - a for a, b in zip([0, *cuts], [*cuts, n])]
            src_shape = list(shape)
            src_shape[axis or 0] = k
            counts_text = str(counts)
        src = self.expr(tuple(src_shape), d)
        reps = np.array(counts)
        if axis is None:
            text = f"repeat({src.text}, {counts_text})"
            return Node(text, lambda env: jnp.repeat(src.fn(env), reps), shape, src.deps)
        text = f"repeat({src.text}, {counts_text}, axis={axis})"
        return Node(text, lambda env: jnp.repeat(src.fn(env), reps, axis=axis), shape, src.deps)

    def flips(self, shape, d):
        if not shape:
            return None
        if len(shape) >= 2 and self.rng.random() < 0.5:
            src = self.expr(shape, d)
            return Node(f"fliplr({src.text})", lambda env: jnp.fliplr(src.fn(env)), shape, src.deps)
        src = self.expr(shape, d)
        if self.rng.random() < 0.3:
            return Node(f"flip({src.text})", lambda env: jnp.flip(src.fn(env)), shape, src.deps)
        return Node(f"flipud({src.text})", lambda env: jnp.flipud(src.fn(env)), shape, src.deps)

    def cross(self, shape, d):
        if not shape or shape[-1] != 3:
            return None
        a = self.expr(shape, d)
        b = self.expr(self.rng.choice([shape, (3,)]), d)
        if self.rng.random() < 0.5:
            a, b = b, a
        return Node(
            f"cross({a.text}, {b.text})",
            lambda env: jnp.broadcast_to(jnp.cross(a.fn(env), b.fn(env)), shape),
            shape,
            a.deps | b.deps,
        )

    def tensordot(self, shape, d):
        rng = self.rng
        k = self.dim()
        if not shape:
            m, n = self.dim(), self.dim()
            if rng.random() < 0.5:
                a, b = self.expr((m, n), d), self.expr((m, n), d)
                axes, text = 2, "2" if rng.random() < 0.5 else "([0, 1], [0, 1])"
                if text != "2":
                    axes = ([0, 1], [0, 1])
            else:
                a, b = self.expr((m, n), d), self.expr((n, m), d)
                axes, text = ([1, 0], [0, 1]), "([1, 0], [0, 1])"
        elif len(shape) == 1:
            a, b = self.expr((shape[0], k), d), self.expr((k,), d)
            axes, text = 1, "1"
        elif len(shape) == 2:
            if rng.random() < 0.5:
                a, b = self.expr((shape[0], k), d), self.expr((k, shape[1]), d)
                axes, text = 1, "1"
            else:
                a, b = self.expr((k, shape[0]), d), self.expr((k, shape[1]), d)
                axes, text = ([0], [0]), "([0], [0])"
        else:
            return None
        return Node(
            f"tensordot({a.text}, {b.text}, axes={text})",
            lambda env: jnp.tensordot(a.fn(env), b.fn(env), axes=axes),
            shape,
            a.deps | b.deps,
        )

    def sort(self, shape, d):
        rng = self.rng
        if not shape:
            return None
        if len(shape) == 1 and rng.random() < 0.3 and shape[0] % 2 == 0 and shape[0] >= 4:
            src = self.expr((2, shape[0] // 2), d)
            return Node(
                f"sort({src.text}, axis=None)", lambda env: jnp.sort(src.fn(env), axis=None), shape, src.deps
            )
        axis = rng.randrange(-len(shape), len(shape))
        src = self.expr(shape, d)
        text = f"sort({src.text})" if axis == -1 else f"sort({src.text}, axis={axis})"
        return Node(text, lambda env: jnp.sort(src.fn(env), axis=axis), shape, src.deps)

    def median(self, shape, d):
        rng = self.rng
        if not shape:
            src = self.expr(rng.choice([(self.dim(),), (4,), (self.dim(), self.dim())]), d)
            return Node(f"median({src.text})", lambda env: jnp.median(src.fn(env)), shape, src.deps)
        if len(shape) != 1:
            return None
        k = rng.choice([2, 3, 4])
        if rng.random() < 0.5:
            src, axis = self.expr((shape[0], k), d), rng.choice([1, -1])
        else:
            src, axis = self.expr((k, shape[0]), d), 0
        return Node(
            f"median({src.text}, axis={axis})",
            lambda env: jnp.median(src.fn(env), axis=axis),
            shape,
            src.deps,
        )

    def cumprod(self, shape, d):
        return self._scan("cumprod", jnp.cumprod, shape, d)

    def sinc(self, shape, d):
        a = self.expr(shape, d)
        if self.rng.random() < 0.3:  # near 0, where the series takes over
            return Node(f"sinc(0.01 * {a.text})", lambda env: sinc(0.01 * a.fn(env)), shape, a.deps)
        return Node(f"sinc({a.text})", lambda env: sinc(a.fn(env)), shape, a.deps)

    def constructor(self, shape, d):
        """A constant array of the constructors (arange, linspace, eye, identity) times an
        expression, or full_like (the gradient goes to the fill value)."""
        rng = self.rng
        if shape and rng.random() < 0.3:
            like = self.expr(shape, d)
            fill = self.expr((), d)
            return Node(
                f"full_like({like.text}, {fill.text})",
                lambda env: jnp.full_like(like.fn(env), fill.fn(env)),
                shape,
                like.deps | fill.deps,
            )
        if len(shape) == 1:
            n = shape[0]
            if rng.random() < 0.5:
                start = rng.randint(-2, 2)
                step = rng.choice([1, 2, -1, 0.5, -1.5])
                stop = start + step * n if isinstance(step, int) else start + step * (n - 0.5)
                text = f"arange({start}, {stop!r}, {step!r})"
                const = np.arange(start, stop, step)
            else:
                lo, hi = rng.choice([0, -1, 0.5]), rng.choice([1, 2.5, -2])
                endpoint = rng.random() < 0.7
                text = (
                    f"linspace({lo!r}, {hi!r}, {n})"
                    if endpoint
                    else f"linspace({lo!r}, {hi!r}, {n}, endpoint=False)"
                )
                const = np.linspace(lo, hi, n, endpoint=endpoint)
        elif len(shape) == 2:
            m, n = shape
            k = rng.randint(-2, 2)
            if m == n and rng.random() < 0.3:
                text, const = f"identity({n})", np.identity(n)
            elif rng.random() < 0.5:
                text, const = f"eye({m}, {n}, k={k})", np.eye(m, n, k)
            else:
                text, const = f"eye({m}, {n}, {k})", np.eye(m, n, k)
        else:
            return None
        a = self.expr(shape, d)
        c = jnp.asarray(const, dtype=jnp.float64)
        if len(shape) == 2 and rng.random() < 0.4:
            b = self.expr((shape[1], shape[1]), d)
            return Node(f"({text} @ {b.text})", lambda env: c @ b.fn(env), shape, b.deps)
        return Node(f"({a.text} * {text})", lambda env: a.fn(env) * c, shape, a.deps)


# ---- programs ------------------------------------------------------------------------------


@dataclasses.dataclass
class Program:
    text: str
    variables: dict  # name -> shape
    constants: dict
    values: dict  # name -> np.ndarray (every variable and constant)
    defs: dict  # name -> Node (in order)
    exact: bool
    big: bool
    value_files: dict  # name -> literal text or None (then a .npy file)


def make_program(rng: random.Random, big: bool, zeros: bool = False) -> Program:
    exact = not big and rng.random() < 0.25
    gen = Gen(rng, exact, big, zeros)
    lines, variables, constants, values, literal_text = [], {}, {}, {}, {}
    for i in range(rng.randint(1, 3)):
        shape = rng.choice(
            [(), (gen.dim(),), (gen.dim(), gen.dim())] if big else [(), (2,), (3,), (2, 3), (3, 2), (1, 3)]
        )
        if big and i == 0:
            shape = (40, 50)
        is_const = i > 0 and rng.random() < 0.25
        name = f"{'k' if is_const else 'w'}{i}"
        if big and size(shape) > 6:
            value = np.round(np.array([rng.uniform(-1.5, 1.5) for _ in range(size(shape))]).reshape(shape), 3)
            lines.append(f"{'const' if is_const else 'var'} {name}: {shape_text(shape)}")
            literal_text[name] = None
        else:
            text, value = gen.literal(shape)
            lines.append(f"{'const' if is_const else 'var'} {name} = {text}")
            literal_text[name] = text
        values[name] = np.asarray(value, dtype=float)
        (constants if is_const else variables)[name] = shape
        gen.names[name] = shape
    for i in range(rng.randint(1, 3)):
        shape = rng.choice([(), (gen.dim(),), (gen.dim(), gen.dim()), (gen.dim(), 1)])
        if rng.random() < 0.5:
            shape = rng.choice(list(gen.names.values()))
        node = gen.expr(shape, rng.randint(1, 3 if not big else 2))
        name = f"d{i}"
        lines.append(f"{name} = {node.text}")
        gen.defs[name] = node
        gen.names[name] = node.shape
    return Program("\n".join(lines) + "\n", variables, constants, values, gen.defs, exact, big, literal_text)


ACTIVATIONS = {
    "tanh": jnp.tanh,
    "relu": UNARY["relu"][0],
    "sigmoid": jax.nn.sigmoid,
    "gelu": UNARY["gelu"][0],
    "silu": jax.nn.silu,
    "softplus": jax.nn.softplus,
    "elu": jax.nn.elu,
    "leaky_relu": UNARY["leaky_relu"][0],
    "sin": jnp.sin,
}


def make_template(rng: random.Random, big: bool) -> Program:
    """A model as people write them (an MLP, attention, layer norm, ...), random sizes and parts."""
    n, d, h, c = (40, 50, 30, 10) if big else (rng.choice([2, 3]), rng.choice([2, 3]), 3, 2)
    decls: dict[str, tuple] = {}  # name -> (shape, is_constant)
    defs: dict[str, Node] = {}
    act_name = rng.choice(list(ACTIVATIONS))
    act = ACTIVATIONS[act_name]

    def var(name, shape, const=False):
        decls[name] = (shape, const)

    def define(name, text, fn):
        defs[name] = Node(text, fn, (), frozenset())  # shapes and deps are not used for templates

    kind = rng.randrange(10)
    if kind == 0:  # MLP with softmax cross-entropy
        var("X", (n, d), True), var("T", (n, c), True), var("W1", (d, h)), var("b1", (h,)), var("W2", (h, c))
        define("hidden", f"{act_name}(X @ W1 + b1)", lambda e: act(e["X"] @ e["W1"] + e["b1"]))
        define("logits", "hidden @ W2", lambda e: e["hidden"] @ e["W2"])
        define("p", "softmax(logits, axis=1)", lambda e: jax.nn.softmax(e["logits"], axis=1))
        define(
            "loss",
            f"-sum(T * log(p)) / {n} + 0.01 * sum(W1 ** 2)",
            lambda e: -jnp.sum(e["T"] * jnp.log(e["p"])) / n + 0.01 * jnp.sum(e["W1"] ** 2),
        )
    elif kind == 1:  # logistic regression
        var("X", (n, d), True), var("y", (n,), True), var("w", (d,))
        define("m", "X @ w", lambda e: e["X"] @ e["w"])
        if rng.random() < 0.5:
            define(
                "loss",
                "mean(softplus(-y * m)) + 0.5 * sum(w ** 2)",
                lambda e: jnp.mean(jax.nn.softplus(-e["y"] * e["m"])) + 0.5 * jnp.sum(e["w"] ** 2),
            )
        else:
            define(
                "loss",
                "-mean(log_sigmoid(y * m)) + norm(w)",
                lambda e: -jnp.mean(jax.nn.log_sigmoid(e["y"] * e["m"])) + jnp.linalg.norm(e["w"]),
            )
    elif kind == 2:  # layer norm
        var("x", (n, d)), var("G", (n, d), True), var("gamma", (d,))
        define("mu", "mean(x, axis=-1, keepdims=True)", lambda e: jnp.mean(e["x"], axis=-1, keepdims=True))
        define("v", "var(x, axis=-1, keepdims=True)", lambda e: jnp.var(e["x"], axis=-1, keepdims=True))
        define(
            "z",
            "gamma * (x - mu) / sqrt(v + 0.00001)",
            lambda e: e["gamma"] * (e["x"] - e["mu"]) / jnp.sqrt(e["v"] + 0.00001),
        )
        define("loss", "sum(z * G)", lambda e: jnp.sum(e["z"] * e["G"]))
    elif kind == 3:  # attention
        var("X", (n, d), True), var("Wq", (d, h)), var("Wk", (d, h)), var("Wv", (d, h))
        define("Q", "X @ Wq", lambda e: e["X"] @ e["Wq"])
        define("K", "X @ Wk", lambda e: e["X"] @ e["Wk"])
        define(
            "A",
            f"softmax(Q @ K.T / sqrt({h}), axis=-1)",
            lambda e: jax.nn.softmax(e["Q"] @ e["K"].T / jnp.sqrt(float(h)), axis=-1),
        )
        define("O", "A @ (X @ Wv)", lambda e: e["A"] @ (e["X"] @ e["Wv"]))
        define("loss", "sum(O ** 2) / 2", lambda e: jnp.sum(e["O"] ** 2) / 2)
    elif kind == 4:  # Rosenbrock with slices
        var("x", (d,))
        define(
            "f",
            "sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)",
            lambda e: jnp.sum(100 * (e["x"][1:] - e["x"][:-1] ** 2) ** 2 + (1 - e["x"][:-1]) ** 2),
        )
    elif kind == 5:  # least squares, logsumexp loss
        var("A", (n, d), True), var("b", (n,), True), var("x", (d,)), var("T", (n, c), True), var("W", (d, c))
        define("r", "A @ x - b", lambda e: e["A"] @ e["x"] - e["b"])
        define("Z", "A @ W", lambda e: e["A"] @ e["W"])
        define(
            "loss",
            "0.5 * sum(r ** 2) + mean(logsumexp(Z, axis=1) - sum(Z * T, axis=1))",
            lambda e: (
                0.5 * jnp.sum(e["r"] ** 2)
                + jnp.mean(jss.logsumexp(e["Z"], axis=1) - jnp.sum(e["Z"] * e["T"], axis=1))
            ),
        )
    elif kind == 6:  # a gradient penalty: grad(y, w) inside the program
        var("X", (n, d), True), var("w", (d,))
        define("y", f"sum({act_name}(X @ w))", lambda e: jnp.sum(act(e["X"] @ e["w"])))
        define("g", "grad(y, w)", lambda e: jax.grad(lambda w: jnp.sum(act(e["X"] @ w)))(e["w"]))
        define("loss", "y + sum(g ** 2)", lambda e: e["y"] + jnp.sum(e["g"] ** 2))
    elif kind == 7:  # batched matmul and einsum
        var("B", (2, n, d), True), var("W", (d, h)), var("V", (2, h, c))
        define("H", f"{act_name}(B @ W)", lambda e: act(e["B"] @ e["W"]))
        define("O", 'einsum("bij,bjk->bik", H, V)', lambda e: jnp.einsum("bij,bjk->bik", e["H"], e["V"]))
        define(
            "loss", "sum(mean(O, axis=(0, 1)) ** 2)", lambda e: jnp.sum(jnp.mean(e["O"], axis=(0, 1)) ** 2)
        )
    elif kind == 8:  # concatenate, flip, cumsum, max over a reshape
        var("x", (d,)), var("w", (2 * d,), True)
        define(
            "cc",
            "concatenate([x, flip(x, axis=0)], axis=0)",
            lambda e: jnp.concatenate([e["x"], e["x"][::-1]]),
        )
        define("s", "cumsum(cc) * w", lambda e: jnp.cumsum(e["cc"]) * e["w"])
        define(
            "loss",
            f"sum(max(reshape(s, [2, {d}]), axis=1) ** 2) + sum(s[::-3])",
            lambda e: jnp.sum(jnp.max(e["s"].reshape(2, d), axis=1) ** 2) + jnp.sum(e["s"][::-3]),
        )
    else:  # residual block with minimum/maximum/clip/where
        var("X", (n, d), True), var("W", (d, d)), var("b", (d,))
        define("z", "X @ W + b", lambda e: e["X"] @ e["W"] + e["b"])
        define(
            "h",
            "X + clip(z, -1.0, 1.0) * (z > 0.3) + minimum(z, 0.1) * 0.2",
            lambda e: (
                e["X"] + UNARY_CLIP(e["z"]) * (e["z"] > 0.3) + jnp.where(e["z"] <= 0.1, e["z"], 0.1) * 0.2
            ),
        )
        define(
            "loss",
            "sum(where(h > 0, h ** 2, -h)) + prod(tanh(b[:2]))",
            lambda e: jnp.sum(jnp.where(e["h"] > 0, e["h"] ** 2, -e["h"])) + jnp.prod(jnp.tanh(e["b"][:2])),
        )
    lines, values, variables, constants, files = [], {}, {}, {}, {}
    for name, (shape, const) in decls.items():
        value = np.round(np.array([rng.uniform(-1.5, 1.5) for _ in range(size(shape))]).reshape(shape), 3)
        if name == "T":  # one-hot targets
            value = np.eye(shape[1])[[rng.randrange(shape[1]) for _ in range(shape[0])]]
        if name == "y" and kind == 1:
            value = np.array([rng.choice([-1.0, 1.0]) for _ in range(shape[0])])
        values[name] = value
        (constants if const else variables)[name] = shape
        keyword = "const" if const else "var"
        if big and size(shape) > 6:
            lines.append(f"{keyword} {name}: {shape_text(shape)}")
            files[name] = None
        else:
            lines.append(f"{keyword} {name} = {json.dumps(value.tolist())}")
            files[name] = ""
    for name, node in defs.items():
        lines.append(f"{name} = {node.text}")
    env = {k: jnp.asarray(v) for k, v in values.items()}
    for name, node in defs.items():
        env[name] = node.fn(env)
        node.shape = tuple(np.shape(env[name]))
        node.deps = frozenset(re.findall(r"[A-Za-z_]\w*", node.text)) & (frozenset(decls) | frozenset(defs))
    return Program("\n".join(lines) + "\n", variables, constants, values, defs, False, big, files)


def UNARY_CLIP(x):  # noqa: N802 - clip(x, -1, 1) with TensorFlow's gradient at the ends
    return jnp.where((x >= -1.0) & (x <= 1.0), x, jnp.where(x < -1.0, -1.0, 1.0))


# ---- JAX oracle ----------------------------------------------------------------------------


@dataclasses.dataclass
class Request:
    of: list
    wrt: list  # variables and defined names
    grad_ys: dict  # name -> (literal text, array)
    stop: list
    unconnected: str


def forward(prog: Program, request: Request, params: dict, eps: dict):
    env = {k: jnp.asarray(v) for k, v in prog.values.items()}
    env.update(params)
    for name, node in prog.defs.items():
        value = node.fn(env)
        if name in eps:
            value = value + eps[name]
        if name in request.stop:
            value = jax.lax.stop_gradient(value)
        env[name] = value
    return env


def loss(prog: Program, request: Request, params: dict, eps: dict):
    env = forward(prog, request, params, eps)
    total = 0.0
    for name in request.of:
        weights = request.grad_ys.get(name, (None, 1.0))[1]
        total = total + jnp.sum(weights * env[name])
    return total


def split(prog: Program, request: Request, args: dict):
    params = {k: v for k, v in args.items() if k in prog.variables}
    eps = {k: v for k, v in args.items() if k in prog.defs}
    return params, eps


def start_args(prog: Program, request: Request) -> dict:
    args = {}
    for name in request.wrt:
        if name in prog.variables:
            args[name] = jnp.asarray(prog.values[name], dtype=jnp.float64)
        else:
            args[name] = jnp.zeros(prog.defs[name].shape)
    return args


def jax_grads(prog, request, order: int) -> dict:
    args = start_args(prog, request)

    def f(a):
        return loss(prog, request, *split(prog, request, a))

    if order == 1:
        return {k: np.asarray(v) for k, v in jax.grad(f)(args).items()}
    if order == 2:
        hess = jax.hessian(f)(args)
        return {k: np.asarray(hess[k][k]) for k in request.wrt}
    out = {}
    for name in request.wrt:  # order >= 3: jacfwd of ... of jax.grad, one target at a time

        def g(x, name=name):
            return f({**args, name: x})

        d = jax.grad(g)
        for _ in range(order - 1):
            d = jax.jacfwd(d)
        out[name] = np.asarray(d(args[name]))
    return out


def flat_fn(prog, request, names):
    args = start_args(prog, request)
    shapes = [np.shape(args[n]) for n in names]
    x0 = jnp.concatenate([jnp.ravel(args[n]) for n in names]) if names else jnp.zeros(0)

    def unflat(x):
        out, at = {}, 0
        for n, s in zip(names, shapes):
            out[n] = jnp.reshape(x[at : at + size(s)], s)
            at += size(s)
        return out

    return x0, unflat


def jax_hessian(prog, request, names):
    x0, unflat = flat_fn(prog, request, names)
    return np.asarray(jax.hessian(lambda x: loss(prog, request, *split(prog, request, unflat(x))))(x0))


def jax_hvp(prog, request, names, vector: np.ndarray):
    x0, unflat = flat_fn(prog, request, names)
    g = jax.grad(lambda x: loss(prog, request, *split(prog, request, unflat(x))))
    return np.asarray(jax.jvp(g, (x0,), (jnp.asarray(vector),))[1])


def jax_jacobian(prog, request, names):
    x0, unflat = flat_fn(prog, request, names)

    def outs(x):
        env = forward(prog, request, *split(prog, request, unflat(x)))
        return jnp.concatenate([jnp.ravel(env[n]) for n in request.of])

    return np.asarray(jax.jacobian(outs)(x0))


def connected(prog: Program, request: Request, target: str) -> bool:
    """SPEC 2: a path in the dataflow graph as written from the target to an output, avoiding stops."""
    seen = set()

    def reach(name) -> bool:
        if name == target:
            return True
        if name in seen or name not in prog.defs:
            return False
        seen.add(name)
        return any(dep == target or (dep not in request.stop and reach(dep)) for dep in prog.defs[name].deps)

    return any(reach(o) for o in request.of)


# ---- gradcli side --------------------------------------------------------------------------


class Hang(BaseException):
    pass


def _alarm(signum, frame):
    raise Hang()


def as_array(value) -> np.ndarray:
    def conv(v):
        if isinstance(v, list):
            return [conv(x) for x in v]
        if isinstance(v, str):
            return float(v)
        if v is None:
            return float("nan")
        return float(v)

    return np.array(conv(value), dtype=float)


def agree(ours, theirs) -> tuple[bool, float]:
    ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
    if ours.shape != theirs.shape:
        return False, float("inf")
    if ours.size == 0:
        return True, 0.0
    scale = max(np.max(np.abs(theirs)), np.max(np.abs(np.nan_to_num(ours))))
    err = np.abs(ours - theirs)
    ok = bool(np.all(err <= RTOL * scale + ATOL))
    return ok, float(np.max(err) / scale) if scale else float(np.max(err))


class Runner:
    def __init__(self, out: Path):
        self.cli = CliRunner()
        self.out = out
        self.counts = collections.Counter()
        self.findings: list[dict] = []
        self.work = Path(tempfile.mkdtemp(prefix="jaxdiff-"))

    def invoke(self, args: list[str]):
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(ALARM)
        started = time.perf_counter()
        try:
            result = self.cli.invoke(cli, ["--debug", *args])
        except Hang:
            return None, time.perf_counter() - started
        finally:
            signal.alarm(0)
        return result, time.perf_counter() - started

    def finding(self, kind: str, prog: Program, args: list[str], detail: str):
        entry = {"kind": kind, "program": prog.text, "argv": args, "detail": detail[:4000]}
        self.findings.append(entry)
        self.counts[f"finding:{kind.split(':')[0]}"] += 1
        with open(self.out / "findings.jsonl", "a") as handle:
            handle.write(json.dumps(entry) + "\n")

    def run_json(self, category: str, prog: Program, args: list[str]):
        """gradcli's JSON document, or None (finding recorded, or an expected refusal)."""
        self.counts[f"run:{category}"] += 1
        result, elapsed = self.invoke(args)
        if result is None:
            self.finding(f"hang:{category}", prog, args, f"no result after {ALARM} s")
            return None
        if result.exit_code == 4 or "Traceback" in result.stderr:
            self.finding(f"crash:{category}", prog, args, result.stderr[-3000:])
            return None
        if result.exit_code == 1:
            self.counts[f"refused:{category}"] += 1
            if "memory" in result.stderr or "limit" in result.stderr:
                return None
            if "undefined for its constant inputs" in result.stderr:  # JAX's forward pass is finite
                self.finding(f"refused:{category}", prog, args, result.stderr[-1500:])
            self.counts[f"refusal-text:{result.stderr.splitlines()[0][-120:] if result.stderr else '?'}"] += 1
            return None
        if result.exit_code not in (0, 3):
            self.finding(f"exit{result.exit_code}:{category}", prog, args, result.stderr[-3000:])
            return None
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError:
            self.finding(f"badjson:{category}", prog, args, result.stdout[:2000])
            return None


# ---- one case ------------------------------------------------------------------------------


def draw_request(rng: random.Random, prog: Program, gen_literal) -> Request:
    defs = list(prog.defs)
    of = [defs[-1]] if rng.random() < 0.6 else rng.sample(defs, rng.randint(1, len(defs)))
    variables = list(prog.variables)
    wrt = list(variables) if rng.random() < 0.5 else rng.sample(variables, rng.randint(1, len(variables)))
    stop = []
    others = [d for d in defs if d not in of]
    if "grad(" in prog.text:  # --stop and --wrt of a name that grad(y, x) uses are not compared
        others = []
    if others and rng.random() < 0.3:
        stop = rng.sample(others, 1)
    inner = [d for d in others if d not in stop]
    if inner and rng.random() < 0.25:
        wrt.append(rng.choice(inner))
    grad_ys = {}
    if rng.random() < 0.4:
        for name in of:
            shape = prog.defs[name].shape
            choice = rng.choice([(), shape, shape[-1:]])
            if size(choice) > 60:
                choice = ()
            grad_ys[name] = gen_literal(choice)
    return Request(of, wrt, grad_ys, stop, rng.choice(["none", "zero"]))


def common_args(prog: Program, request: Request, path: Path, files: dict, command: str) -> list[str]:
    args = [command, str(path), "--of", ",".join(request.of), "--format", "json"]
    if request.wrt:
        args += ["--wrt", ",".join(request.wrt)]
    for name, (text, _) in request.grad_ys.items():
        args += ["--grad-ys", f"{name}={text}"]
    if request.stop:
        args += ["--stop", ",".join(request.stop)]
    for name, file in files.items():
        args += ["--at", f"{name}=@{file}"]
    args += ["--limit", "time=60"]
    if prog.big:
        args += ["--limit", "elements=500"]
    return args


class Case:
    def __init__(self, runner: Runner, rng: random.Random, index: int, big: bool):
        self.runner, self.rng = runner, rng
        self.template = rng.random() < 0.3
        # lenient: a small program with many zeros, where non-finite values are compared too
        self.lenient = not big and not self.template and rng.random() < 0.3
        if self.template:
            self.prog = make_template(rng, big)
        else:
            self.prog = make_program(rng, big, zeros=self.lenient)
        gen = Gen(rng, False, big)
        self.request = draw_request(rng, self.prog, gen.literal)
        self.dir = runner.work / f"c{index}"
        self.dir.mkdir()
        self.path = self.dir / "model.txt"
        self.path.write_text(self.prog.text)
        self.files = {}
        for name, text in self.prog.value_files.items():
            if text is None:
                file = self.dir / f"{name}.npy"
                np.save(file, self.prog.values[name])
                self.files[name] = file
        self.skip_reason = None
        for word in NEW_WORDS:
            if word in self.prog.text:
                runner.counts[f"uses:{word}"] += 1
        fwd = forward(self.prog, self.request, {}, {})
        if not all(bool(jnp.all(jnp.isfinite(v))) for v in fwd.values()) and not self.lenient:
            self.skip_reason = "forward not finite"

    def args(self, command: str, extra=()) -> list[str]:
        return common_args(self.prog, self.request, self.path, self.files, command) + list(extra)

    def check_targets(self, category, args, doc, key, expected: dict):
        r = self.runner
        entries = doc.get(key, {})
        for name in self.request.wrt:
            entry = entries.get(name)
            if entry is None:
                r.finding(
                    f"missing:{category}", self.prog, args, f"no entry for {name}: {json.dumps(doc)[:1500]}"
                )
                continue
            want_conn = connected(self.prog, self.request, name)
            status = entry.get("status")
            if (status == "ok") != want_conn and key == "gradients":
                r.finding(
                    f"status:{category}",
                    self.prog,
                    args,
                    f"{name}: gradcli {status} ({entry.get('reason')}); SPEC's lexical connectivity says "
                    f"{'connected' if want_conn else 'disconnected'}",
                )
                continue
            want = expected[name]
            if not np.all(np.isfinite(want)) and not self.lenient:
                r.counts[f"skip-nonfinite:{category}"] += 1
                continue
            if status != "ok" and entry.get("value") is None:
                if self.request.unconnected == "zero":
                    r.finding(f"null-under-zero:{category}", self.prog, args, f"{name}: {entry}")
                if np.any(want != 0):
                    r.finding(
                        f"disconnected-nonzero:{category}",
                        self.prog,
                        args,
                        f"{name}: JAX {want.tolist()}",
                    )
                continue
            if entry.get("value") is None:
                r.counts[f"null-value:{category}"] += 1
                continue
            got = as_array(entry["value"])
            if np.isnan(got).any() and ("std(" in self.prog.text or "norm(" in self.prog.text):
                r.counts["documented-nan (std/norm at 0: README)"] += 1  # JAX may give 0 there
                continue
            if not np.all(np.isfinite(want)):
                self.compare_nonfinite(category, args, got, want, name)
                continue
            ok, err = agree(got, want)
            r.counts[f"compared:{category}"] += 1
            if not ok:
                r.finding(
                    f"value:{category}",
                    self.prog,
                    args,
                    f"{name}: rel err {err:.3g}\ngradcli {np.array2string(got, precision=17, threshold=40)}\n"
                    f"jax     {np.array2string(want, precision=17, threshold=40)}",
                )

    def compare_finite(self, category: str, args, got, want) -> bool:
        """Compare gradcli's `got` with JAX's `want` (a finding where they disagree); False, and
        nothing compared, where JAX's value is not finite."""
        if not np.all(np.isfinite(want)):
            if self.lenient:
                self.compare_nonfinite(category, args, got, want, "")
            else:
                self.runner.counts[f"skip-nonfinite:{category}"] += 1
            return False
        ok, err = agree(got, want)
        self.runner.counts[f"compared:{category}"] += 1
        if not ok:
            self.runner.finding(
                f"value:{category}", self.prog, args, f"rel err {err:.3g}\ngradcli {got}\njax {want}"
            )
        return True

    def compare_nonfinite(self, category: str, args, got, want, label: str):
        """Where JAX's value has NaN or inf: the same non-finite entries, the finite ones agreeing.
        A finding of its own kind (`nonfinite`): README's structural zeros and TensorFlow's
        conventions make some of these documented choices, triaged by hand."""
        got, want = np.asarray(got, float), np.asarray(want, float)
        self.runner.counts[f"compared-nonfinite:{category}"] += 1
        if got.shape != want.shape:
            self.runner.finding(
                f"value:{category}", self.prog, args, f"{label} shape {got.shape} vs {want.shape}"
            )
            return
        finite = np.isfinite(got) & np.isfinite(want)
        ok_finite, _ = agree(got[finite], want[finite])
        if not ok_finite:
            self.runner.finding(
                f"value:{category}",
                self.prog,
                args,
                f"{label} finite entries differ\ngradcli {got}\njax {want}",
            )
            return
        both = np.isnan(got) & np.isnan(want) | np.isinf(got) & (got == want)
        # README's structural zeros: a number where JAX's sum has a term 0 * inf (NaN)
        structural = np.isnan(want) & np.isfinite(got)
        if np.all(finite | both | structural):
            self.runner.counts[f"nonfinite-agree-or-structural-zero:{category}"] += 1
            return
        ours = ~np.isfinite(got) & np.isfinite(want)  # gradcli NaN or inf, JAX a number
        kind = "nonfinite-gradcli" if np.all(finite | both | structural | ours) else "nonfinite-other"
        self.runner.finding(
            f"{kind}:{category}", self.prog, args, f"{label}\ngradcli {got.tolist()}\njax     {want.tolist()}"
        )

    # ---- checks --------------------------------------------------------------------------
    def grad(self, order: int, symbolic: str):
        category = f"grad{order}-{'big' if self.prog.big else symbolic}"
        extra = ["--order", str(order), "--symbolic", symbolic, "--unconnected", self.request.unconnected]
        args = self.args("grad", extra)
        doc = self.runner.run_json(category, self.prog, args)
        if doc is None:
            return None
        expected = jax_grads(self.prog, self.request, order)
        self.check_targets(category, args, doc, "gradients", expected)
        if doc.get("L") is not None:
            want = float(loss(self.prog, self.request, {}, {}))
            got = as_array(doc["L"])
            ok, err = (got == want or (np.isnan(got) and np.isnan(want)), 0.0)
            if np.isfinite(want):
                ok, err = agree(got, want)
            if not ok:
                self.runner.finding(f"L:{category}", self.prog, args, f"L gradcli {doc['L']} jax {want!r}")
        return doc

    def connected_names(self):
        return [n for n in self.request.wrt if connected(self.prog, self.request, n)]

    def hessian(self, symbolic: str):
        names = self.connected_names()
        total = sum(size(self.shape_of(n)) for n in names)
        if not names or total > (60 if self.prog.big else 12):
            return
        category = f"hessian-{'big' if self.prog.big else symbolic}"
        args = self.args("hessian", ["--symbolic", symbolic])
        doc = self.runner.run_json(category, self.prog, args)
        if doc is None:
            return
        if doc.get("value") is None:
            self.runner.counts[f"null-value:{category}"] += 1
            return
        got = as_array(doc["value"])
        if not self.compare_finite(category, args, got, jax_hessian(self.prog, self.request, names)):
            return
        if doc.get("matrix") and len(names) == 1:
            self.closed_form(doc["matrix"], got, names[0], args)

    def shape_of(self, name):
        return self.prog.variables[name] if name in self.prog.variables else self.prog.defs[name].shape

    def closed_form(self, matrix: str, values: np.ndarray, name: str, hessian_args):
        text = self.prog.text + f"hclosed = {matrix}\n"
        path = self.dir / "closed.txt"
        path.write_text(text)
        args = ["eval", str(path), "--of", "hclosed", "--format", "json", "--limit", "time=60"]
        for n, file in self.files.items():
            args += ["--at", f"{n}=@{file}"]
        if self.prog.big:
            args += ["--limit", "elements=500"]
        doc = self.runner.run_json("closed-form", self.prog, args)
        if doc is None:
            return
        got = as_array(doc["values"]["hclosed"])
        n = size(self.shape_of(name))
        if got.size != values.size:
            if got.size == 1 and n == 1:
                pass
            else:
                self.runner.finding(
                    "closed-form-shape",
                    self.prog,
                    hessian_args,
                    f"matrix {matrix!r} has shape {got.shape}, Hessian {values.shape}",
                )
                return
        ok, err = agree(got.reshape(values.shape), values)
        self.runner.counts["compared:closed-form"] += 1
        if not ok:
            self.runner.finding(
                "value:closed-form", self.prog, hessian_args, f"matrix {matrix}\neval {got}\nhessian {values}"
            )

    def hvp(self):
        names = self.connected_names()
        if not names:
            return
        category = f"hvp-{'big' if self.prog.big else 'small'}"
        extra, parts = [], []
        for n in names:
            shape = self.shape_of(n)
            v = np.round(np.array([self.rng.uniform(-1, 1) for _ in range(size(shape))]), 3).reshape(shape)
            parts.append(v.ravel())
            if size(shape) > 20:
                file = self.dir / f"v_{n}.npy"
                np.save(file, v)
                extra += ["--vector", f"{n}=@{file}"]
            else:
                extra += ["--vector", f"{n}={json.dumps(v.tolist())}"]
        args = self.args("hessian", extra)
        doc = self.runner.run_json(category, self.prog, args)
        if doc is None:
            return
        want = jax_hvp(self.prog, self.request, names, np.concatenate(parts))
        at = 0
        expected = {}
        for n in names:
            s = self.shape_of(n)
            expected[n] = want[at : at + size(s)].reshape(s)
            at += size(s)
        saved = self.request.wrt
        self.request.wrt = names
        try:
            self.check_targets(category, args, doc, "products", expected)
        finally:
            self.request.wrt = saved

    def jacobian(self):
        names = self.connected_names()
        if not names:
            return
        outs = sum(size(self.prog.defs[o].shape) for o in self.request.of)
        cols = sum(size(self.shape_of(n)) for n in names)
        if outs * cols > (40000 if self.prog.big else 400):
            return
        category = f"jacobian-{'big' if self.prog.big else 'small'}"
        args = strip_option(self.args("jacobian"), "--grad-ys")
        doc = self.runner.run_json(category, self.prog, args)
        if doc is None or doc.get("value") is None:
            return
        want = jax_jacobian(self.prog, self.request, names)
        self.compare_finite(category, args, as_array(doc["value"]), want)

    def eval(self):
        category = f"eval-{'big' if self.prog.big else 'small'}"
        args = ["eval", str(self.path), "--format", "json", "--limit", "time=60"]
        for n, file in self.files.items():
            args += ["--at", f"{n}=@{file}"]
        if self.prog.big:
            args += ["--limit", "elements=500"]
        doc = self.runner.run_json(category, self.prog, args)
        if doc is None:
            return
        env = forward(self.prog, Request([], [], {}, [], "none"), {}, {})
        for name in self.prog.defs:
            got = as_array(doc["values"][name])
            ok, err = agree(got, np.asarray(env[name]))
            self.runner.counts[f"compared:{category}"] += 1
            if not ok:
                self.runner.finding(
                    f"value:{category}", self.prog, args, f"{name}: gradcli {got} jax {np.asarray(env[name])}"
                )

    def backward(self):
        category = f"backward-{'big' if self.prog.big else 'small'}"
        wrt_vars = [n for n in self.request.wrt if n in self.prog.variables]
        if not wrt_vars:
            return
        args = self.args("backward")
        doc = self.runner.run_json(category, self.prog, args)
        if doc is None:
            return
        targets = {k: v for k, v in doc["targets"].items() if v}
        if not targets:
            return
        path = self.dir / "backward.txt"
        path.write_text(doc["program"])
        eargs = [
            "eval",
            str(path),
            "--of",
            ",".join(targets.values()),
            "--format",
            "json",
            "--limit",
            "time=60",
        ]
        for n, file in self.files.items():
            eargs += ["--at", f"{n}=@{file}"]
        if self.prog.big:
            eargs += ["--limit", "elements=500"]
        edoc = self.runner.run_json(category + "-eval", self.prog, eargs)
        if edoc is None:
            self.runner.finding(f"backward-refused:{category}", self.prog, args, doc["program"][:3000])
            return
        expected = jax_grads(self.prog, self.request, 1)
        for name, adj in targets.items():
            if name not in expected:
                continue
            got = as_array(edoc["values"][adj])
            want = expected[name]
            if not np.all(np.isfinite(want)):
                continue
            ok, err = agree(np.broadcast_to(got, want.shape) if got.size == 1 else got, want)
            self.runner.counts[f"compared:{category}"] += 1
            if not ok:
                self.runner.finding(
                    f"value:{category}",
                    self.prog,
                    args,
                    f"{name} ({adj}): eval {got}\njax {want}\n{doc['program'][:2000]}",
                )

    def run(self):
        if self.skip_reason:
            self.runner.counts["skip:" + self.skip_reason] += 1
            return
        rng = self.rng
        floats = not self.prog.exact
        self.grad(1, "auto" if not self.prog.big else "none")
        if self.lenient:  # per element: Hessian and Jacobian of where's guards, kinks and zeros
            for check in (self.hessian_check, self.jacobian, self.grad_high):
                check()
            return
        checks = [self.grad2, self.hessian_check, self.hvp, self.jacobian, self.eval, self.backward]
        checks += [self.grad_high, self.grad_high, self.check_expect, self.step]
        if floats and not self.prog.big:
            checks.append(lambda: self.grad(1, "none"))
        for check in rng.sample(checks, 3 if not self.prog.big else 2):
            check()

    def grad2(self):
        total = max((size(self.shape_of(n)) for n in self.request.wrt), default=0)
        if total <= (60 if self.prog.big else 12):
            self.grad(2, "none" if self.prog.big or self.rng.random() < 0.5 else "auto")

    def hessian_check(self):
        self.hessian("none" if self.prog.big or self.rng.random() < 0.4 else "auto")

    def grad_high(self):
        """--order 3 (targets of at most 4 elements), or 4 with --wrt the scalar targets."""
        if self.prog.big:
            return
        sizes = {n: size(self.shape_of(n)) for n in self.request.wrt}
        scalars = [n for n, k in sizes.items() if k == 1]
        if scalars and self.rng.random() < 0.5:
            saved = self.request.wrt
            self.request.wrt = scalars
            try:
                self.grad(4, self.rng.choice(["auto", "none"]))
            finally:
                self.request.wrt = saved
        elif sizes and max(sizes.values()) <= 4:
            self.grad(3, self.rng.choice(["auto", "none"]))

    def check_expect(self):
        """`check --expect` with JAX's gradients as a plain map: exit 0 expected."""
        expected = jax_grads(self.prog, self.request, 1)
        plain = {}
        for name in self.request.wrt:
            if not connected(self.prog, self.request, name):
                plain[name] = (
                    np.zeros(self.shape_of(name)).tolist() if self.request.unconnected == "zero" else None
                )
            elif not np.all(np.isfinite(expected[name])):
                self.runner.counts["skip-nonfinite:check"] += 1
                return
            else:
                plain[name] = expected[name].tolist()
        file = self.dir / "expect.json"
        file.write_text(json.dumps(plain))
        args = self.args("check", ["--expect", str(file), "--unconnected", self.request.unconnected])
        self.runner.counts["run:check"] += 1
        result, _ = self.runner.invoke(args)
        if result is None:
            self.runner.finding("hang:check", self.prog, args, "no result")
            return
        self.runner.counts[f"check-exit{result.exit_code}"] += 1
        if result.exit_code == 1 and ("limit" in result.stderr or "memory" in result.stderr):
            return
        if result.exit_code != 0:
            self.runner.finding(
                f"check-exit{result.exit_code}",
                self.prog,
                args,
                f"expect {json.dumps(plain)[:1500]}\nstdout {result.stdout[-2000:]}\n"
                f"stderr {result.stderr[-1500:]}",
            )

    def step(self):
        """`step --lr LR --steps N` against gradient descent with jax.grad."""
        wrt = [n for n in self.request.wrt if n in self.prog.variables]
        if not wrt:
            return
        lr, steps = self.rng.choice([0.1, 0.01, 0.5]), self.rng.choice([1, 2, 3])
        request = dataclasses.replace(self.request, wrt=wrt)
        args = common_args(self.prog, request, self.path, self.files, "step")
        args = strip_option(args, "--limit") + ["--lr", repr(lr), "--steps", str(steps)]
        if self.prog.big:
            args += ["--limit", "elements=500"]
        doc = self.runner.run_json("step", self.prog, args)
        if doc is None:
            return
        values = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in self.prog.values.items() if k in wrt}

        def f(params):
            return loss(self.prog, request, params, {})

        losses = []
        for _ in range(steps):
            losses.append(float(f(values)))
            g = jax.grad(f)(values)
            values = {k: v - lr * g[k] for k, v in values.items()}
        losses.append(float(f(values)))
        want = np.concatenate([np.ravel(np.asarray(values[k])) for k in wrt] + [np.array(losses)])
        if not np.all(np.isfinite(want)):
            self.runner.counts["skip-nonfinite:step"] += 1
            return
        got = np.concatenate(
            [np.ravel(as_array(doc["values"][k])) for k in wrt] + [np.ravel(as_array(doc["loss"]))]
        )
        self.compare_finite("step", args, got, want)


def strip_option(args: list[str], option: str) -> list[str]:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a == option:
            skip = True
            continue
        out.append(a)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--large", type=float, default=0.25, help="share of whole-array (large) cases")
    parser.add_argument("--out", default="fuzz-jax-out")
    parser.add_argument(
        "--focus", action="store_true", help="draw %%, //, where guards and the newer rows more"
    )
    options = parser.parse_args()
    global FOCUS
    FOCUS = options.focus
    out = Path(options.out)
    out.mkdir(exist_ok=True)
    runner = Runner(out)
    rng = random.Random(options.seed)
    started = time.perf_counter()
    try:
        run_cases(options, runner, rng, started)
    except KeyboardInterrupt:  # an interrupted campaign still reports its figures
        print("interrupted", file=sys.stderr)
    print(json.dumps(dict(sorted(runner.counts.items())), indent=1))
    print(
        f"{runner.counts['cases-big'] + runner.counts['cases-small']} cases in "
        f"{time.perf_counter() - started:.0f} s; {len(runner.findings)} findings in {out}/findings.jsonl"
    )


def run_cases(options, runner: Runner, rng: random.Random, started: float) -> None:
    for index in range(options.cases):
        big = rng.random() < options.large
        runner.counts["cases-big" if big else "cases-small"] += 1
        case_rng = random.Random(rng.getrandbits(64))
        try:
            Case(runner, case_rng, index, big).run()
        except Exception as error:  # noqa: BLE001 - a bug of the fuzzer's own, counted and shown
            runner.counts["fuzzer-error"] += 1
            print(f"case {index}: fuzzer error {type(error).__name__}: {error}", file=sys.stderr)
        if index % 50 == 49:
            print(
                f"{index + 1} cases, {time.perf_counter() - started:.0f} s, findings {len(runner.findings)}",
                file=sys.stderr,
            )


if __name__ == "__main__":
    main()
