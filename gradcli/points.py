"""Evaluation at many points: CSV or NPZ in and out, streamed in chunks so memory stays flat.

CSV: a header of element labels (`x`, `w[0]`, ...) for the elements that vary, one row a point;
out: columns `L` and `d/dLABEL` for every target element. NPZ: one array per varying name with the
point axis first; out: arrays `L` and `d/dNAME`. Every chunk is one vectorised float64 pass over
the expression graph; rows stay in input order.
"""

from __future__ import annotations

import csv
import io
import math
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from gradcli import api, deadline, files
from gradcli.errors import GradcliError
from gradcli.evaluate import Tape, to_float
from gradcli.lower import labels
from gradcli.model import Request, Unconnected
from gradcli.syntax import Program

CHUNK = 1 << 16  # points per pass: big enough for NumPy, small enough to keep memory flat


@dataclass(frozen=True)
class Job:
    """The expressions to evaluate and where each input element and output column comes from."""

    tape: Tape  # L, then every connected target element's derivative, compiled once
    columns: list[str]  # output column labels (CSV) in target-element order, after "L"
    arrays: dict[str, tuple[int, ...]]  # output arrays (NPZ): name -> element shape
    symbols: dict[str, object]  # element label -> symbol
    fixed: dict  # symbol -> value for the elements that do not vary
    live: list[bool]  # per output column: computed (True) or disconnected (False)
    disconnected: dict[str, str]
    zeros: bool  # --unconnected zero


def prepare_job(program: Program, request: Request) -> Job:
    prepared = api.prepare(program, request)
    gradients = api.gradient_arrays(prepared)
    exprs, columns, live, arrays = [api.loss_expression(prepared)], [], [], {"L": ()}
    for target in prepared.targets:
        shape = prepared.lowered.shape(target)
        arrays[f"d/d{target}"] = shape
        for index, label in enumerate(labels(target, shape)):
            columns.append(f"d/d{label}")
            live.append(gradients[target] is not None)
            if gradients[target] is not None:
                exprs.append(gradients[target].flat[index])
    symbols = {}
    for decl in program.declarations:
        symbols.update(zip(labels(decl.name, decl.shape), prepared.lowered.symbols[decl.name].flat))
    fixed = {s: to_float(v) for s, v in prepared.values.items()}
    zeros = request.unconnected is Unconnected.ZERO
    return Job(Tape(exprs), columns, arrays, symbols, fixed, live, prepared.disconnected, zeros)


def _evaluate(job: Job, chunk: dict, size: int) -> list[np.ndarray]:
    """L and one array per output column for `size` points."""
    values = {**job.fixed, **{job.symbols[label]: column for label, column in chunk.items()}}
    missing = [label for label, s in job.symbols.items() if s not in values]
    if missing:
        shown = ", ".join(missing[:8]) + (", ..." if len(missing) > 8 else "")
        raise GradcliError(f"no value for {shown}: add the column(s) to the points file or declare values")
    results = iter(job.tape.run(values, size))
    out = [next(results)]
    empty = np.zeros(size) if job.zeros else np.full(size, np.nan)
    out += [next(results) if alive else empty for alive in job.live]
    return out


# ---- reading -----------------------------------------------------------------------------------


def _csv_chunks(path: str, job: Job) -> Iterator[tuple[dict, int]]:
    files.check_input(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:  # a BOM, as Excel writes, is fine
            yield from _csv_rows(csv.reader(files.bounded_lines(stream, path)), path, job)
    except OSError as error:
        raise GradcliError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise GradcliError(f"{path} is not valid UTF-8 text ({error.reason})") from None


def _csv_rows(reader, path: str, job: Job) -> Iterator[tuple[dict, int]]:
    try:
        header = [h.strip() for h in next(reader, [])]
        if not header or header == [""]:
            raise GradcliError(f"{path}: the first row must name the varying elements, e.g. x,w[0],w[1]")
        for label in header:
            if label not in job.symbols:
                raise GradcliError(f"{path}: column '{label}' is not an element of a declared name")
        if len(set(header)) != len(header):
            raise GradcliError(f"{path}: a column is named twice in the header")
        rows: list[list[float]] = []
        for row in reader:
            if not row:
                continue
            number = reader.line_num
            if len(row) != len(header):
                raise GradcliError(f"{path}: row {number} has {len(row)} fields, the header {len(header)}")
            try:
                rows.append([float(field) for field in row])
            except ValueError:
                bad = next(f for f in row if not _is_float(f))
                raise GradcliError(f"{path}: row {number}: {bad[:40]!r} is not a number") from None
            if len(rows) == CHUNK:
                yield _columns(header, rows), len(rows)
                rows = []
        if rows:
            yield _columns(header, rows), len(rows)
    except csv.Error as error:
        raise GradcliError(f"{path}: line {reader.line_num}: {error}") from None


def _is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _columns(header: list[str], rows: list[list[float]]) -> dict:
    matrix = np.array(rows, dtype=np.float64)
    return {label: matrix[:, i] for i, label in enumerate(header)}


def _npz_members(path: str, job: Job) -> tuple[zipfile.ZipFile, dict, int]:
    """The open archive, each array's (zip entry, element shape, dtype) by name, and the point count.
    Every member's size must be what its header promises."""
    files.check_input(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise GradcliError(f"{path}: not a readable .npz file ({error})") from None
    try:
        return archive, *_npz_arrays(archive, path, job)
    except BaseException:
        archive.close()
        raise


def _npz_arrays(archive: zipfile.ZipFile, path: str, job: Job) -> tuple[dict, int]:
    members, count = {}, None
    for info in archive.infolist():
        name = info.filename.removesuffix(".npy")
        try:
            with archive.open(info) as stream:
                shape, fortran, dtype = _read_npy_header(stream)
                header_size = stream.tell()
        except (ValueError, SyntaxError, EOFError, OSError, zipfile.BadZipFile, zlib.error) as error:
            raise GradcliError(f"{path}: member {info.filename} is not a .npy array ({error})") from None
        element_labels = [label for label in job.symbols if label == name or label.startswith(name + "[")]
        if not element_labels:
            raise GradcliError(f"{path}: array '{name}' is not a declared name")
        element_shape = _shape_of(name, element_labels)
        if fortran or len(shape) < 1 or tuple(shape[1:]) != element_shape or dtype.kind not in "fiu":
            wanted = ", ".join(["points", *map(str, element_shape)])
            raise GradcliError(
                f"{path}: array '{name}' must be numbers of shape [{wanted}] (C order); it has {list(shape)}"
            )
        promised = header_size + shape[0] * _width(element_shape) * dtype.itemsize
        if info.file_size != promised:
            raise GradcliError(
                f"{path}: array '{name}' holds {info.file_size - header_size} bytes of data, "
                f"but its header promises {promised - header_size}"
            )
        if count is not None and shape[0] != count:
            raise GradcliError(f"{path}: array '{name}' has {shape[0]} points, another has {count}")
        count = shape[0]
        members[name] = (info, element_shape, dtype)
    if count is None:
        raise GradcliError(f"{path}: the archive holds no arrays")
    return members, count


def _width(element_shape: tuple[int, ...]) -> int:
    return int(np.prod(element_shape, dtype=int)) if element_shape else 1


def _read_npy_header(stream) -> tuple:
    """(shape, fortran order, dtype) of a .npy stream, which is left at the first data byte."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(stream)
    return np.lib.format.read_array_header_2_0(stream)


def _shape_of(name: str, element_labels: list[str]) -> tuple[int, ...]:
    if element_labels == [name]:
        return ()
    last = element_labels[-1][len(name) + 1 : -1]
    return tuple(int(i) + 1 for i in last.split(","))


def _npz_chunks(path: str, job: Job) -> Iterator[tuple[dict, int]]:
    archive, members, count = _npz_members(path, job)
    streams: dict = {}
    with archive:
        try:
            for name, (info, element_shape, dtype) in members.items():
                stream = archive.open(info)
                _read_npy_header(stream)
                streams[name] = (stream, element_shape, dtype)
            done = 0
            while done < count:
                size = min(CHUNK, count - done)
                chunk = {}
                for name, (stream, element_shape, dtype) in streams.items():
                    width = _width(element_shape)
                    data = stream.read(size * width * dtype.itemsize)
                    if len(data) != size * width * dtype.itemsize:
                        raise GradcliError(f"{path}: array '{name}' ends early")
                    block = np.frombuffer(data, dtype=dtype).astype(np.float64).reshape(size, width)
                    for column, label in enumerate(labels(name, element_shape)):
                        chunk[label] = block[:, column]
                yield chunk, size
                done += size
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            raise GradcliError(f"{path}: cannot read the archive ({error})") from None
        finally:
            for stream, _, _ in streams.values():
                stream.close()


def npz_count(path: str, job: Job) -> int:
    archive, _, count = _npz_members(path, job)
    archive.close()
    return count


# ---- writing -----------------------------------------------------------------------------------


def _format(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else ("" if math.isnan(value) else str(value))


def write_csv(chunks, job: Job, sink: io.TextIOBase, progress: Callable[[int], None]) -> None:
    writer = csv.writer(sink, lineterminator="\n")
    writer.writerow(["L", *job.columns])
    for chunk, size in chunks:
        deadline.check()
        results = _evaluate(job, chunk, size)
        for row in zip(*(r.tolist() for r in results)):
            writer.writerow([_format(v) for v in row])
        progress(size)


def write_npz(chunks, job: Job, path: str, progress: Callable[[int], None]) -> None:
    """Each output array goes to its own temporary raw file beside `path`, then into one .npz that
    replaces `path` atomically (files.replacing)."""
    directory = os.path.dirname(files.output_path(path))
    with tempfile.TemporaryDirectory(dir=directory, prefix=".gradcli-") as scratch:
        raw = {name: open(os.path.join(scratch, f"{i}.raw"), "wb") for i, name in enumerate(job.arrays)}  # noqa: SIM115
        count = 0
        for chunk, size in chunks:
            deadline.check()
            results = iter(_evaluate(job, chunk, size))
            for name, shape in job.arrays.items():
                block = np.stack([next(results) for _ in range(_width(shape))], axis=1)
                raw[name].write(np.ascontiguousarray(block, dtype="<f8").tobytes())
            count += size
            progress(size)
        for stream in raw.values():
            stream.close()
        with files.replacing(path) as target, zipfile.ZipFile(target, "w", allowZip64=True) as archive:
            for name, shape in job.arrays.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    header = {"descr": "<f8", "fortran_order": False, "shape": (count, *shape)}
                    np.lib.format.write_array_header_2_0(member, header)
                    with open(raw[name].name, "rb") as source:
                        while block := source.read(1 << 20):
                            member.write(block)


def evaluate_points(
    program: Program, request: Request, points: str, output: str | None, write, progress_factory
) -> Job:
    """Evaluate L and the gradients at every point of `points`, into the file `output` (its path
    already checked with files.output_path) or as CSV text given to `write` once complete.

    `progress_factory(total or None)` returns a callable that is told each chunk's size."""
    if request.order != 1:
        raise GradcliError("--points computes first derivatives; drop --order")
    for path, what in ((points, "--points"), (output, "--output")):
        if path is not None and not path.lower().endswith((".csv", ".npz")):
            raise GradcliError(f"{what} {path}: give a .csv or .npz file")
    if output is None and points.lower().endswith(".npz"):
        raise GradcliError("--points with an .npz file writes .npz: give --output OUT.npz")
    job = prepare_job(program, request)
    total = npz_count(points, job) if points.lower().endswith(".npz") else None
    progress = progress_factory(total)
    chunks = chunks_of(points, job)
    if output is not None and output.lower().endswith(".npz"):
        write_npz(chunks, job, output, progress)
    elif output is not None:
        with files.replacing(output, text=True) as stream:
            write_csv(chunks, job, stream, progress)
    else:  # whole or nothing on stdout: spool (memory, then disk), copy once complete
        with tempfile.SpooledTemporaryFile(1 << 24, mode="w+", newline="") as spool:
            write_csv(chunks, job, spool, progress)
            spool.seek(0)
            while block := spool.read(1 << 20):
                write(block)
    return job


def chunks_of(path: str, job: Job):
    lower = path.lower()
    if lower.endswith(".csv"):
        return _csv_chunks(path, job)
    if lower.endswith(".npz"):
        return _npz_chunks(path, job)
    raise GradcliError(f"--points {path}: give a .csv or .npz file")
