"""JSON of factored arrays (a Hessian's formulas and values) is byte for byte json.dumps's."""

from __future__ import annotations

import json
import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gradcli.factored import Factored, nested_factored
from gradcli.render import to_json

ELEMENTS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),  # any characters: quotes, backslashes, controls, non-ASCII
)


def _plain(value):
    """The document json.dumps would write, spelled out: non-finite floats as README's strings."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


@given(
    elements=st.lists(ELEMENTS, min_size=1, max_size=6),
    shape=st.lists(st.integers(0, 4), min_size=0, max_size=3),
    data=st.data(),
)
def test_factored_json_is_json_dumps_of_the_nested_lists(elements, shape, data):
    codes = np.array(
        data.draw(
            st.lists(
                st.integers(0, len(elements) - 1), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))
            )
        ),
        dtype=np.intp,
    ).reshape(shape)
    value = nested_factored(elements, codes)
    expected = np.empty(len(elements), dtype=object)
    expected[:] = elements
    listed = np.asarray(expected[codes], dtype=object).tolist()
    assert _plain(value) == _plain(listed)  # every consumer sees the same nested lists (NaN as "nan")
    assert isinstance(value, Factored) == bool(shape)  # a 0-d array is its element, as tolist gives
    document = {"command": "hessian", "symbolic": value, "nested": {"value": value, "n": 1}}
    assert to_json(document) == json.dumps(_plain({**document, "nested": {"value": listed, "n": 1}}))
    assert json.loads(to_json(document))["symbolic"] == _plain(listed)


@given(
    elements=st.lists(ELEMENTS, min_size=1, max_size=5),
    outer=st.lists(st.integers(0, 3), min_size=1, max_size=2),
    length=st.integers(60, 300),  # long rows: runs of the most common element written as one text
    zeros=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_long_rows_with_runs_are_json_dumps_of_the_nested_lists(elements, outer, length, zeros, seed):
    rng = np.random.default_rng(seed)
    shape = (*outer, length)
    codes = rng.integers(0, len(elements), size=shape)
    codes[rng.random(shape) < zeros] = 0  # from sparse (mostly element 0) to dense
    value = nested_factored(elements, codes)
    table = np.empty(len(elements), dtype=object)
    table[:] = elements
    listed = table[codes].tolist()
    assert _plain(value) == _plain(listed)  # the lists themselves, built from runs where sparse
    assert to_json({"value": value}) == json.dumps({"value": _plain(listed)})
    for row in codes.reshape(-1, length):  # one-dimensional: a gradient's long vector
        row_value, row_listed = nested_factored(elements, row), _plain(table[row].tolist())
        assert _plain(row_value) == row_listed
        assert to_json({"value": row_value}) == json.dumps({"value": row_listed})
