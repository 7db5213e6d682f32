"""Files and streams gradcli reads and writes: bounded inputs, regular-file outputs written atomically
through symlinks, never over an input, `step --write` under a lock; full disks, closed streams and
closed pipes end cleanly."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gradcli import files, workflow
from gradcli.cli import cli

MODEL = "var x = 1.5\ny = x * x\n"


def _invoke(*args, **kwargs):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, **kwargs)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "model.txt"
    path.write_text(MODEL)
    return path


# ---- what --output and --write replace -------------------------------------------------------------


def test_output_through_a_symlink_replaces_its_target(model, tmp_path):
    target = tmp_path / "real.py"
    target.write_text("old\n")
    link = tmp_path / "link.py"
    link.symlink_to(target)
    code, out, err = _invoke("export", model, "--lang", "numpy", "--output", link)
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert "def evaluate" in target.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.py", "model.txt", "real.py"]


def test_output_through_a_dangling_symlink_creates_its_target(model, tmp_path):
    link = tmp_path / "link.c"
    link.symlink_to(tmp_path / "made.c")
    code, out, err = _invoke("export", model, "--lang", "c", "--output", link)
    assert code == 0 and link.is_symlink() and "double" in (tmp_path / "made.c").read_text()


def test_a_fifo_is_never_replaced(model, tmp_path):
    fifo = tmp_path / "out.c"
    os.mkfifo(fifo)
    code, out, err = _invoke("export", model, "--lang", "c", "--output", fifo)
    assert code == 1 and "will not write" in err and "it is a FIFO" in err
    assert fifo.is_fifo()


def test_a_device_behind_a_symlink_is_never_replaced(model, tmp_path):
    link = tmp_path / "null.c"
    link.symlink_to(os.devnull)
    code, out, err = _invoke("export", model, "--lang", "c", "--output", link)
    assert code == 1 and "it is a device" in err
    assert link.is_symlink() and Path(os.devnull).is_char_device()


def test_a_directory_is_refused_with_exit_1(model, tmp_path):
    (tmp_path / "dir.csv").mkdir()
    points = tmp_path / "p.csv"
    points.write_text("x\n1.0\n")
    for args in (
        ("export", model, "--lang", "c", "--output", tmp_path),
        ("grad", model, "--points", points, "--output", tmp_path / "dir.csv"),
        ("grad", tmp_path),
    ):
        code, out, err = _invoke(*args)
        assert code == 1 and "it is a directory" in err and out == ""


def test_a_hard_linked_file_is_refused_and_both_names_keep_their_content(model, tmp_path):
    target = tmp_path / "out.py"
    target.write_text("shared\n")
    other = tmp_path / "other.py"
    os.link(target, other)
    code, out, err = _invoke("export", model, "--lang", "numpy", "--output", target)
    assert code == 1 and "other hard link" in err
    assert target.read_text() == other.read_text() == "shared\n"
    assert os.path.samefile(target, other)


def test_the_input_is_never_overwritten(model, tmp_path):
    link = tmp_path / "alias.txt"
    link.symlink_to(model)
    points = tmp_path / "p.csv"
    points.write_text("x\n1.0\n")
    for args in (
        ("export", model, "--lang", "numpy", "--output", model),
        ("export", model, "--lang", "c", "--output", link),
        ("grad", model, "--points", points, "--output", points),
    ):
        code, out, err = _invoke(*args)
        assert code == 1 and "it is the input" in err
    assert model.read_text() == MODEL and points.read_text() == "x\n1.0\n"


def test_a_missing_directory_is_refused_before_the_work(model, tmp_path):
    code, out, err = _invoke("export", model, "--lang", "c", "--output", tmp_path / "no" / "x.c")
    assert code == 1 and "its directory does not exist" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write any file")
def test_a_read_only_file_is_not_replaced(model):
    model.chmod(0o444)
    code, out, err = _invoke("step", model, "--lr", "0.1", "--write")
    assert code == 1 and "it is read-only" in err and model.read_text() == MODEL


def test_step_write_through_a_symlink_keeps_the_link(model, tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to(model)
    code, out, err = _invoke("step", link, "--lr", "0.25", "--write")
    assert code == 0, err
    assert link.is_symlink() and model.read_text() == "var x = 0.75\ny = x * x\n"


def test_step_write_refuses_a_file_changed_while_it_ran(model, monkeypatch):
    real_step = workflow.step
    edited = "var x = 9.0  # edited meanwhile\ny = x * x\n"

    def step_while_someone_edits(*args, **kwargs):
        result = real_step(*args, **kwargs)
        model.write_text(edited)
        return result

    monkeypatch.setattr(workflow, "step", step_while_someone_edits)
    code, out, err = _invoke("step", model, "--lr", "0.1", "--write")
    assert code == 1 and "changed while gradcli worked on it; nothing written" in err and out == ""
    assert model.read_text() == edited


def test_concurrent_step_writes_each_land(tmp_path):
    path = tmp_path / "model.txt"
    path.write_text("var w = 1.0\ny = w * w\n")
    runs = 8
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gradcli",
                "step",
                str(path),
                "--lr",
                "0.1",
                "--write",
                "--format",
                "json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(runs)
    ]
    results = [process.communicate(timeout=300) for process in processes]
    assert [p.returncode for p in processes] == [0] * runs, [err for _, err in results]
    w = 1.0
    for _ in range(runs):
        w = w - 0.1 * (2 * w)
    assert path.read_text() == f"var w = {w!r}\ny = w * w\n"
    assert sorted(json.loads(out)["values"]["w"] for out, _ in results)[0] == w
    assert [p.name for p in tmp_path.iterdir()] == ["model.txt"]


# ---- inputs are read with a bound -----------------------------------------------------------------


def test_devices_are_refused_as_inputs(model, tmp_path):
    zero = tmp_path / "zero.csv"
    zero.symlink_to("/dev/zero")
    for args, name in (
        (("grad", "/dev/zero"), "/dev/zero"),
        (("check", model, "--expect", "/dev/zero"), "/dev/zero"),
        (("grad", model, "--points", zero), str(zero)),
    ):
        code, out, err = _invoke(*args)
        assert code == 1 and f"cannot read {name}: it is a device, not a file" in err and out == ""


def test_a_program_larger_than_the_bound_is_refused(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_bytes(b"var x = 1.0\ny = x\n" + b"#\n" * (files.MAX_PROGRAM_BYTES // 2))
    code, out, err = _invoke("grad", path)
    assert code == 1 and "is larger than 8 MiB" in err


def test_a_fifo_is_read_with_a_bound(tmp_path):
    fifo = tmp_path / "model.txt"
    os.mkfifo(fifo)

    def feed(data: bytes):
        try:
            with open(fifo, "wb") as stream:
                stream.write(data)
        except BrokenPipeError:  # the reader stopped at its bound
            pass

    writer = threading.Thread(target=feed, args=(MODEL.encode(),), daemon=True)
    writer.start()
    code, out, err = _invoke("grad", fifo, "--format", "json")
    writer.join(timeout=60)
    assert code == 0 and json.loads(out)["gradients"]["x"]["value"] == 3.0
    writer = threading.Thread(target=feed, args=(b"#" * (files.MAX_PROGRAM_BYTES + 4096),), daemon=True)
    writer.start()
    code, out, err = _invoke("grad", fifo)
    writer.join(timeout=60)
    assert code == 1 and "larger than 8 MiB" in err


def test_a_closed_standard_input_is_an_error():
    done = subprocess.run(
        [sys.executable, "-m", "gradcli", "grad", "-"],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.close(0),
    )
    assert (
        done.returncode == 1 and done.stderr == "gradcli: error: cannot read standard input: it is closed\n"
    )


# ---- --expect, --points and plot edge cases ---------------------------------------------------------


@pytest.mark.parametrize(
    "document, message",
    [
        ("{}", "names no gradient"),
        ('{"gradients": {}}', "names no gradient"),
        ('{"x": 1' + "0" * 400 + "}", "x holds an integer beyond float64"),
        ('{"x": 1' + "0" * 5000 + "}", "x holds an integer beyond float64"),
        (b'{"x": "\xff"}', "not UTF-8"),
    ],
)
def test_bad_expect_documents(model, tmp_path, document, message):
    path = tmp_path / "expect.json"
    path.write_bytes(document if isinstance(document, bytes) else document.encode())
    code, out, err = _invoke("check", model, "--expect", path)
    assert code == 1 and message in err and out == ""


@pytest.mark.parametrize(
    "content, message",
    [
        (b"x\n1.0\n\xff\n", "not valid UTF-8"),
        (b'x\n"' + b"1" * 200_000 + b'"\n', "field larger than field limit"),
    ],
)
def test_bad_csv_fields(model, tmp_path, content, message):
    points = tmp_path / "p.csv"
    points.write_bytes(content)
    code, out, err = _invoke("grad", model, "--points", points)
    assert code == 1 and message in err and out == ""


def test_a_csv_file_may_start_with_a_byte_order_mark(model, tmp_path):
    points = tmp_path / "p.csv"
    points.write_bytes(b"\xef\xbb\xbfx\n2.0\n")
    code, out, err = _invoke("grad", model, "--points", points)
    assert code == 0 and out == "L,d/dx\n4.0,4.0\n"


def test_an_overlong_csv_line_is_refused(model, tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_LINE_CHARS", 1000)
    points = tmp_path / "p.csv"
    points.write_text("x\n" + "1" * 2000 + "\n")
    code, out, err = _invoke("grad", model, "--points", points)
    assert code == 1 and "a line longer than" in err


def _npz_with_header(path: Path, shape: tuple, values: np.ndarray) -> None:
    """An .npz whose x.npy claims `shape` but holds `values`."""
    import io
    import zipfile

    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False, "shape": shape})
    member.write(values.astype("<f8").tobytes())
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", member.getvalue())


@pytest.mark.parametrize("claimed", [(1000,), (2,)])
def test_an_npz_header_that_lies_about_its_size(model, tmp_path, claimed):
    _npz_with_header(tmp_path / "p.npz", claimed, np.array([1.0, 2.0, 3.0]))
    code, out, err = _invoke("grad", model, "--points", tmp_path / "p.npz", "--output", tmp_path / "o.npz")
    assert code == 1 and "but its header promises" in err and not (tmp_path / "o.npz").exists()


def test_an_honest_npz_still_works(model, tmp_path):
    _npz_with_header(tmp_path / "p.npz", (3,), np.array([1.0, 2.0, 3.0]))
    code, out, err = _invoke("grad", model, "--points", tmp_path / "p.npz", "--output", tmp_path / "o.npz")
    assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "o.npz")["d/dx"], [2.0, 4.0, 6.0])


def test_plot_along_two_variables_is_a_clear_error(tmp_path):
    path = tmp_path / "m.txt"
    path.write_text("var x = 1.0\nvar y = 2.0\nf = x * y\n")
    code, out, err = _invoke("plot", path, "--wrt", "x,y")
    assert code == 1 and "plot draws along one scalar variable; name exactly one" in err


def test_plotext_6_is_a_clear_error(model, monkeypatch):
    plotext = pytest.importorskip("plotext")
    monkeypatch.setattr(plotext, "__version__", "6.0.0")
    code, out, err = _invoke("plot", model, "--wrt", "x")
    assert code == 1 and "needs plotext 5 (plotext 6.0.0 is installed" in err and out == ""


# ---- standard output that cannot be written ----------------------------------------------------------


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize("unbuffered", ["", "1"])
@pytest.mark.parametrize("args", [("grad", "M"), ("graph", "M"), ("--help",)])
def test_a_full_disk_is_an_error_not_a_crash(model, args, unbuffered):
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "gradcli", *(str(model) if a == "M" else a for a in args)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONUNBUFFERED": unbuffered},
        )
    assert done.returncode == 1
    assert done.stderr.startswith("gradcli: error: cannot write") and done.stderr.count("\n") == 1
    assert done.stderr.endswith(": No space left on device\n")


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_a_closed_pipe_ends_quietly(model, tmp_path, unbuffered):
    points = tmp_path / "p.csv"
    points.write_text("x\n" + "".join(f"{i / 7!r}\n" for i in range(20_000)))
    process = subprocess.Popen(
        [sys.executable, "-m", "gradcli", "grad", str(model), "--points", str(points)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": unbuffered},
    )
    assert process.stdout.readline() == b"L,d/dx\n"
    process.stdout.close()  # what `| head -1` does
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1 and err == b""
