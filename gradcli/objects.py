"""NumPy object arrays of SymEngine scalars: the element view's building blocks (map, sum, matmul).

Sums are built at once as one Add (never a chain of pairwise additions), so an expression's size
stays proportional to its terms.
"""

from __future__ import annotations

import itertools

import numpy as np
import symengine as se

ZERO = se.Integer(0)


def tensor(value) -> np.ndarray:
    """Wrap a SymEngine scalar or an array-like as an object array (0-d for a scalar)."""
    if isinstance(value, np.ndarray) and value.dtype == object:
        return value
    out = np.empty(np.shape(value) if isinstance(value, np.ndarray) else (), dtype=object)
    if out.shape == ():
        out[()] = value if not isinstance(value, np.ndarray) else value[()]
    else:
        out[...] = value
    return out


def filled(shape: tuple[int, ...], value) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    out.fill(value)
    return out


def map1(function, a: np.ndarray) -> np.ndarray:
    return tensor(np.frompyfunc(function, 1, 1)(a))


def map2(function, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return tensor(np.frompyfunc(function, 2, 1)(a, b))


def map3(function, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return tensor(np.frompyfunc(function, 3, 1)(a, b, c))


def map_n(function, *arrays: np.ndarray) -> np.ndarray:
    """`function` element by element over any number of arrays, broadcast as NumPy does."""
    if all(np.ndim(a) == 0 for a in arrays):
        return tensor(function(*(a[()] if isinstance(a, np.ndarray) else a for a in arrays)))
    if len(arrays) <= 16:
        return tensor(np.frompyfunc(function, len(arrays), 1)(*arrays))
    spread = np.broadcast_arrays(*(np.asarray(a, dtype=object) for a in arrays))
    out = np.empty(spread[0].shape, dtype=object)
    for index in np.ndindex(out.shape):
        out[index] = function(*(a[index] for a in spread))
    return out


def sum_axes(x: np.ndarray, axes: tuple[int, ...], keepdims: bool = False) -> np.ndarray:
    """Sum over `axes`, each sum built as one Add."""
    return reduce_axes(x, axes, keepdims, _add)


def _add(*items):
    return se.Add(*items) if items else ZERO


def reduce_axes(x: np.ndarray, axes: tuple[int, ...], keepdims: bool, combine) -> np.ndarray:
    """`combine(*elements)` over `axes` (one call per result element, on all its elements at once)."""
    kept = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, kept + list(axes))
    outer = moved.shape[: len(kept)]
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    rows = moved.reshape(-1, count) if moved.size else None
    out = np.empty(outer, dtype=object)
    flat = out.reshape(-1)
    for i in range(flat.size):
        flat[i] = combine(*rows[i]) if count and rows is not None else combine()
    if keepdims:
        out = out.reshape(tuple(1 if a in axes else d for a, d in enumerate(x.shape)))
    return out


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """NumPy matmul on object arrays: 1-D operands promoted and the added axis removed."""
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    products = a2[..., :, :, None] * b2[..., None, :, :]
    out = sum_axes(products, (products.ndim - 2,))
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return tensor(out)


def label(name: str, index: tuple[int, ...]) -> str:
    """The element label of SPEC: `x`, `x[2]`, `x[0,1]`."""
    return name if not index else f"{name}[{','.join(map(str, index))}]"


def symbols(name: str, shape: tuple[int, ...], label=label) -> np.ndarray:
    """An array of element symbols named by `label(name, index)`."""
    out = np.empty(shape, dtype=object)
    for index in itertools.product(*(range(d) for d in shape)):
        out[index] = se.Symbol(label(name, index))
    return out
