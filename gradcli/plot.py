"""Plots of L and its derivatives along one scalar variable: in the terminal (plotext) or to a file
(matplotlib). Both come with the optional extra `plot`."""

from __future__ import annotations

import io
import math
import os
import sys
from dataclasses import dataclass

import numpy as np

from gradcli import api, deadline
from gradcli.errors import GradcliError, values_needed
from gradcli.evaluate import to_float, vectorized
from gradcli.model import Request
from gradcli.syntax import Program

POINTS = 401


@dataclass(frozen=True)
class Curves:
    name: str  # the variable
    at: float | None  # its current value, if it has one
    x: np.ndarray
    curves: dict[str, np.ndarray]  # label -> values: "L", "dL/dx", "d2L/dx2", ...


def sample(program: Program, request: Request, low: float | None, high: float | None) -> Curves:
    """L and its derivatives up to request.order at POINTS points of [low, high] (default value ± 2)."""
    if len(request.wrt) != 1:
        raise GradcliError(
            f"--wrt {','.join(request.wrt)}: plot draws along one scalar variable; name exactly one"
        )
    prepared = api.prepare(program, request)
    (name,) = prepared.targets
    if api.intermediates(program, prepared.targets):
        raise GradcliError(f"--wrt {name}: '{name}' is a defined name; plot varies a variable")
    symbols = prepared.lowered.symbols[name]
    if symbols.shape != ():
        raise GradcliError(
            f"--wrt {name}: plot needs a scalar variable; {name} has shape {list(symbols.shape)}"
        )
    symbol = symbols[()]
    current = prepared.values.get(symbol)
    at = None if current is None else to_float(current)
    if low is None or high is None:
        if at is None:
            raise GradcliError(f"{name} has no value; give --range A:B or --at {name}=VALUE")
        low, high = at - 2.0, at + 2.0
    if not low < high:
        raise GradcliError(f"--range {low}:{high}: the start must be below the end")
    loss = api.loss_expression(prepared)
    exprs, labels = [loss], ["L"]
    if prepared.reasons[name] is None:
        for order in range(1, request.order + 1):
            exprs.append(api.gradient_arrays(prepared, order)[name].flat[0])
            labels.append(f"dL/d{name}" if order == 1 else f"d{order}L/d{name}{order}")
            deadline.check()
    missing = api.needs(prepared, [np.array(exprs, dtype=object)])
    missing = tuple(m for m in missing if m != name)
    if missing:
        raise values_needed("plot", missing)
    deadline.check()
    xs = np.linspace(low, high, POINTS)
    values = {s: float(v) for s, v in prepared.values.items()} | {symbol: xs}
    results = vectorized(exprs, values, POINTS)
    return Curves(name, at, xs, dict(zip(labels, results)))


def terminal(curves: Curves, width: int | None = None, height: int | None = None) -> str:
    """The curves drawn with plotext, as text for the terminal."""
    plt = _require("plotext")
    if not str(getattr(plt, "__version__", "")).startswith("5."):
        raise GradcliError(
            f"plotting in the terminal needs plotext 5 (plotext {getattr(plt, '__version__', '?')} "
            "is installed, whose interface differs): pip install 'plotext>=5.2,<6', or write a "
            "picture with --output FILE.png"
        )
    plt.clear_figure()
    colour = "NO_COLOR" not in os.environ and sys.stdout is not None and sys.stdout.isatty()
    if not colour:
        plt.theme("clear")
    drawn = 0
    for label, ys in curves.curves.items():
        shown = np.isfinite(ys) & (np.abs(ys) < 1e300)  # plotext cannot scale inf, nan or huge values
        if shown.any():
            plt.plot(curves.x[shown].tolist(), np.asarray(ys)[shown].tolist(), label=label)
            drawn += 1
    if not drawn:
        raise GradcliError(
            "nothing to draw: L and its derivatives are not finite anywhere on this range; choose "
            "another --range"
        )
    if curves.at is not None and math.isfinite(to_float(curves.at)) and abs(to_float(curves.at)) < 1e300:
        plt.vertical_line(curves.at)
    plt.xlabel(curves.name)
    plt.title(
        f"L and its derivatives along {curves.name}"
        + (f" (current value {to_float(curves.at):g})" if curves.at is not None else "")
    )
    if width and height:
        plt.plotsize(width, height)
    try:
        drawing = plt.build()
    except (OverflowError, ValueError):  # plotext's own scaling of extreme values
        raise GradcliError(
            "the terminal plot cannot scale these values; choose another --range or write a picture "
            "with --output FILE.png"
        ) from None
    return drawing if colour else plt.uncolorize(drawing)


def image(curves: Curves, image_format: str, width: int, height: int) -> bytes:
    """The curves as a PNG or SVG (`image_format` "png" or "svg") of `width` x `height` pixels."""
    _require("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    dpi = 100
    figure, axes = pyplot.subplots(figsize=(width / dpi, height / dpi), dpi=dpi)
    for label, ys in curves.curves.items():
        axes.plot(curves.x, ys, label=label)
    if curves.at is not None:
        axes.axvline(
            curves.at, color="grey", linestyle="--", linewidth=1, label=f"{curves.name} = {curves.at:g}"
        )
    axes.set_xlabel(curves.name)
    axes.set_ylabel("value")
    axes.set_title(f"L and its derivatives along {curves.name}")
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format=image_format, dpi=dpi)
    pyplot.close(figure)
    return buffer.getvalue()


def _require(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise GradcliError(
            f"plotting needs {module}, in gradcli's optional extra 'plot': in gradcli's checkout run "
            "pip install -e '.[plot]' (or pip install 'plotext>=5.2,<6' matplotlib)"
        ) from None
