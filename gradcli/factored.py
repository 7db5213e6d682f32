"""Nested lists that remember their array's distinct elements, so JSON encodes each one once.

A Hessian of a million entries holds a few thousand distinct formulas and values (most entries are
the one zero). Encoding it entry by entry is most of the time `hessian --format json` takes;
encoding each distinct element once and joining the encoded texts row by row writes the same
bytes several times faster.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class Factored(list):
    """An array as nested lists (every consumer sees a plain list), which also keeps the array as
    its distinct elements and each element's index among them (`codes`, the array's shape)."""

    def __init__(self, elements: list, codes: np.ndarray):
        table = np.empty(len(elements), dtype=object)
        table[:] = elements
        super().__init__(table[codes].tolist())
        self.elements, self.codes = elements, codes

    def encode(self, encode_element: Callable[[object], str]) -> str:
        """The JSON of the nested lists (json.dumps's own spelling, separators ", "), encoding each
        distinct element once with `encode_element`; in long rows each run of the most common
        element (a Hessian's zero) is written as one repeated text."""
        texts = [encode_element(e) for e in self.elements]
        if self.codes.shape[-1] < _LONG_ROW or self.codes.size == 0:
            table = np.empty(len(texts), dtype=object)
            table[:] = texts
            return _joined(table[self.codes].tolist())
        common = int(np.bincount(self.codes.reshape(-1)).argmax())
        return _rows(self.codes, texts, common)


def nested_factored(elements: list, codes: np.ndarray):
    """Nested lists of `elements[codes]`: Factored for an array with an axis; the element itself
    for a 0-d one (as ndarray.tolist gives)."""
    if codes.ndim == 0:
        return elements[int(codes)]
    return Factored(elements, codes)


_LONG_ROW = 64  # elements: shorter rows are joined whole (a NumPy call a row would cost more)


def _rows(codes: np.ndarray, texts: list[str], common: int) -> str:
    if codes.ndim > 1:
        return "[" + ", ".join([_rows(c, texts, common) for c in codes]) + "]"
    others = np.flatnonzero(codes != common).tolist()
    if 2 * len(others) > len(codes):
        return "[" + ", ".join([texts[c] for c in codes.tolist()]) + "]"
    run, parts, start = texts[common] + ", ", [], 0
    for end in [*others, len(codes)]:  # each run of `common` before an other element, and the last
        if end > start:
            parts.append(run * (end - start - 1) + texts[common])
        if end < len(codes):
            parts.append(texts[codes[end]])
        start = end + 1
    return "[" + ", ".join(parts) + "]"


def _joined(texts: list) -> str:
    if texts and isinstance(texts[0], list):
        return "[" + ", ".join([_joined(t) for t in texts]) + "]"
    return "[" + ", ".join(texts) + "]"
