"""Nested lists that remember their array's distinct elements, so JSON encodes each one once.

A Hessian of a million entries holds a few thousand distinct formulas and values (most entries are
the one zero). Encoding it entry by entry is most of the time `hessian --format json` takes;
encoding each distinct element once and joining the encoded texts row by row writes the same
bytes several times faster. Where one element fills most of the array, both the lists and the
text are built from runs of it, with Python touching only the other entries.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class Factored(list):
    """An array as nested lists (every consumer sees a plain list), which also keeps the array as
    its distinct elements and each element's index among them (`codes`, the array's shape)."""

    def __init__(self, elements: list, codes: np.ndarray):
        super().__init__(_nested(elements, codes))
        self.elements, self.codes = elements, codes

    def encode(self, encode_element: Callable[[object], str]) -> str:
        """The JSON of the nested lists (json.dumps's own spelling, separators ", "), encoding each
        distinct element once with `encode_element`; in long rows each run of the most common
        element (a Hessian's zero) is written as one repeated text."""
        texts = [encode_element(e) for e in self.elements]
        if self.codes.shape[-1] < _LONG_ROW or self.codes.size == 0:
            return _joined(_nested(texts, self.codes))
        rows = self.codes.reshape(-1, self.codes.shape[-1])
        common, others = _common_and_others(rows)
        return _grouped(_row_texts(rows, texts, common, others), self.codes.shape[:-1])


def nested_factored(elements: list, codes: np.ndarray):
    """Nested lists of `elements[codes]`: Factored for an array with an axis; the element itself
    for a 0-d one (as ndarray.tolist gives)."""
    if codes.ndim == 0:
        return elements[int(codes)]
    return Factored(elements, codes)


_LONG_ROW = 64  # elements: shorter rows (and smaller arrays) are built whole (NumPy calls would cost more)


def _common_and_others(codes: np.ndarray) -> tuple[int, np.ndarray]:
    """The most common code, and where the others are (flat indices, ascending)."""
    common = int(np.bincount(codes.reshape(-1)).argmax())
    return common, np.flatnonzero(codes != common)


def _nested(elements: list, codes: np.ndarray) -> list:
    """ndarray.tolist of elements[codes], without an object array of every entry where one element
    fills most of it: each row a copy of one list of it, with the other entries set one by one."""
    if codes.ndim == 0 or codes.size < _LONG_ROW:
        return _table(elements)[codes].tolist()
    common, others = _common_and_others(codes)
    if 2 * len(others) > codes.size:
        return _table(elements)[codes].tolist()
    length = codes.shape[-1]
    rows = [[elements[common]] * length for _ in range(codes.size // length)]
    row_of, column_of = np.divmod(others, length)
    for row, column, code in zip(row_of.tolist(), column_of.tolist(), codes.reshape(-1)[others].tolist()):
        rows[row][column] = elements[code]
    for count in reversed(codes.shape[:-1]):  # rows of rows, down to the one array
        rows = [rows[start : start + count] for start in range(0, len(rows), count)]
    return rows[0]


def _table(elements: list) -> np.ndarray:
    table = np.empty(len(elements), dtype=object)
    table[:] = elements
    return table


def _row_texts(rows: np.ndarray, texts: list[str], common: int, others: np.ndarray) -> list[str]:
    """Each row's JSON; `others`: the flat indices of the codes that are not `common`."""
    length = rows.shape[1]
    row_of, column_of = np.divmod(others, length)
    ends = np.searchsorted(row_of, np.arange(1, len(rows) + 1)).tolist()
    columns, codes = column_of.tolist(), rows.reshape(-1)[others].tolist()
    run, out, first = texts[common] + ", ", [], 0
    for row, last in enumerate(ends):
        if 2 * (last - first) > length:  # mostly other elements: joined one by one
            out.append("[" + ", ".join([texts[c] for c in rows[row].tolist()]) + "]")
            first = last
            continue
        parts, start = [], 0
        for column, code in zip(columns[first:last], codes[first:last]):
            if column > start:  # the run of `common` before this element
                parts.append(run * (column - start - 1) + texts[common])
            parts.append(texts[code])
            start = column + 1
        if length > start:
            parts.append(run * (length - start - 1) + texts[common])
        out.append("[" + ", ".join(parts) + "]")
        first = last
    return out


def _grouped(texts: list[str], shape: tuple[int, ...]) -> str:
    """The JSON of an array of `shape` + (n,) (no axis of length 0) whose rows are `texts`."""
    for length in reversed(shape):
        texts = ["[" + ", ".join(texts[i : i + length]) + "]" for i in range(0, len(texts), length)]
    return texts[0]


def _joined(texts: list) -> str:
    if texts and isinstance(texts[0], list):
        return "[" + ", ".join([_joined(t) for t in texts]) + "]"
    return "[" + ", ".join(texts) + "]"
