"""Values from files (`--at NAME=@PATH`): .npy, .npz (one array), .csv and .json, read as data.

NumPy files are read with allow_pickle=False (never deserialised as objects); every reader checks
the size against `--limit memory` before it allocates the array.
"""

from __future__ import annotations

import json
import os

import numpy as np

from gradcli.errors import GradcliError
from gradcli.syntax import Literal


def read_array(path: str, memory_mib: int, label: str = "--at ...") -> np.ndarray:
    """The numeric array stored at `path`, by its extension (`label` names the option in errors).
    Raises GradcliError."""
    extension = os.path.splitext(path)[1].lower()
    readers = {".npy": _read_npy, ".npz": _read_npz, ".csv": _read_csv, ".json": _read_json}
    if extension not in readers:
        raise GradcliError(f"{label}=@{path}: expected a .npy, .npz, .csv or .json file")
    if not os.path.isfile(path):
        raise GradcliError(f"{label}=@{path}: no such regular file")
    if os.path.getsize(path) > memory_mib * 2**20 * 4:
        raise GradcliError(f"{label}=@{path}: the file is larger than --limit memory={memory_mib} MiB allows")
    try:
        array = readers[extension](path, memory_mib)
    except (OSError, ValueError, EOFError) as error:
        raise GradcliError(f"{label}=@{path}: cannot read the array: {error}") from None
    if array.dtype == np.bool_:
        array = array.astype(np.int64)
    if array.dtype.kind not in "iuf":
        raise GradcliError(f"{label}=@{path}: the array holds {array.dtype} values, not numbers")
    _check_size(array.shape, path, memory_mib, label)
    return array


def _check_size(shape, path: str, memory_mib: int, label: str = "--at ...") -> None:
    size = int(np.prod(shape, dtype=object)) if shape else 1
    if size * 8 > memory_mib * 2**20:
        raise GradcliError(
            f"{label}=@{path}: an array of shape {list(shape)} is larger than --limit memory={memory_mib} MiB"
        )


def _read_npy(path: str, memory_mib: int) -> np.ndarray:
    with open(path, "rb") as stream:
        version = np.lib.format.read_magic(stream)
        read_header = (
            np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        )
        shape, _, _ = read_header(stream)  # the header only
    _check_size(shape, path, memory_mib)
    return np.load(path, allow_pickle=False)


def _read_npz(path: str, memory_mib: int) -> np.ndarray:
    with np.load(path, allow_pickle=False) as archive:
        names = list(archive.files)
        if len(names) != 1:
            raise ValueError(f"expected one array in the archive, found {len(names)}: {', '.join(names)}")
        return archive[names[0]]


def _read_csv(path: str, memory_mib: int) -> np.ndarray:
    with open(path, encoding="utf-8") as stream:
        text = stream.read()
    lines = text.splitlines()
    try:
        array = np.loadtxt(lines, delimiter=",", dtype=np.float64, ndmin=1)
    except ValueError:
        _check_rows(lines)  # a ragged file: say so plainly
        raise
    written_as_integers = not any(mark in text.lower() for mark in (".", "e", "inf", "nan"))
    return array.astype(np.int64) if written_as_integers else array


def _check_rows(lines: list[str]) -> None:
    """Every row (a line that is not blank or a comment, as np.loadtxt reads them) holds as many
    values as the first (NumPy's own message for a ragged file suggests an option gradcli lacks)."""
    first = None
    for number, line in enumerate(lines, 1):
        data = line.split("#", 1)[0]
        if not data.strip():
            continue
        count = data.count(",") + 1
        if first is None:
            first = count
        elif count != first:
            columns = f"{count} column{'s' if count != 1 else ''}"
            raise ValueError(f"line {number} has {columns} where the first row has {first}")


def _read_json(path: str, memory_mib: int) -> np.ndarray:
    with open(path, encoding="utf-8") as stream:
        try:
            data = json.load(stream)
        except RecursionError:
            raise ValueError("the lists are nested too deeply") from None
    try:
        array = np.array(data)
    except ValueError:
        array = np.array(None)
    if array.dtype.kind not in "iufb":
        raise ValueError(
            "the lists are ragged, nested more than 64 deep, or hold something other than float64 numbers"
        )
    return array


def literal_of(array: np.ndarray) -> Literal:
    """An array read from a file as a Literal whose value is the array itself (ints or floats)."""
    array = np.ascontiguousarray(array, dtype=np.int64 if array.dtype.kind in "iu" else np.float64)
    return Literal(array, tuple(array.shape), None)
