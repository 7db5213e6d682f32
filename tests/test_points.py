"""grad --points: CSV and NPZ in and out, equal to single-point grad on every row; bad files."""

import csv
import io

import numpy as np
import pytest

MODEL = (
    "var x\nvar w: [2] = [0.5, -1.0]\nconst c = 2.0\n"
    "f = sin(x) * exp(w[0]) + x**2 * w[1] * c + relu(w[1] - x)\n"
)
ROWS = [(0.5, 1.0, 2.0), (-1.25, 0.0, 0.3), (2.0, -3.0, 1.5), (0.0, 0.25, -0.75)]


def _single(run_json, x, w0, w1):
    code, doc, _ = run_json(MODEL, "grad", "--at", f"x={x!r}", "--at", f"w=[{w0!r}, {w1!r}]")
    g = doc["gradients"]
    return [g["x"]["value"], *g["w"]["value"]]


def test_csv_rows_equal_single_point_grad(run, run_json, tmp_path):
    points = tmp_path / "points.csv"
    points.write_text("x,w[0],w[1]\n" + "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in ROWS))
    code, out, err = run(MODEL, "grad", "--points", str(points))
    assert code == 0, err
    table = list(csv.reader(io.StringIO(out)))
    assert table[0] == ["L", "d/dx", "d/dw[0]", "d/dw[1]"]
    assert len(table) == len(ROWS) + 1
    for row, (x, w0, w1) in zip(table[1:], ROWS):
        expected = _single(run_json, x, w0, w1)
        assert [float(v) for v in row[1:]] == pytest.approx(expected, rel=1e-13, abs=1e-15)
        loss = np.sin(x) * np.exp(w0) + x**2 * w1 * 2.0 + max(w1 - x, 0.0)
        assert float(row[0]) == pytest.approx(loss, rel=1e-13)


def test_csv_columns_may_vary_only_some_elements(run, tmp_path):
    points = tmp_path / "points.csv"
    points.write_text("x\n1.0\n2.0\n")
    code, out, err = run(MODEL, "grad", "--points", str(points), "--output", str(tmp_path / "out.csv"))
    assert code == 0 and out == ""
    rows = list(csv.reader((tmp_path / "out.csv").open()))
    x = 2.0
    expected_dx = np.cos(x) * np.exp(0.5) + 2 * x * -1.0 * 2.0 - 1.0 * (-1.0 - x > 0)
    assert float(rows[2][1]) == pytest.approx(expected_dx, rel=1e-13)


def test_npz_in_and_out(run, tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=1000)
    w = rng.normal(size=(1000, 2))
    np.savez(tmp_path / "points.npz", x=x, w=w)
    code, out, err = run(
        MODEL, "grad", "--points", str(tmp_path / "points.npz"), "--output", str(tmp_path / "out.npz")
    )
    assert code == 0, err
    result = np.load(tmp_path / "out.npz")
    assert sorted(result.files) == ["L", "d/dw", "d/dx"]
    assert result["d/dw"].shape == (1000, 2) and result["L"].shape == (1000,)
    dx = np.cos(x) * np.exp(w[:, 0]) + 2 * x * w[:, 1] * 2.0 - (w[:, 1] - x > 0)
    dw0 = np.sin(x) * np.exp(w[:, 0])
    dw1 = x**2 * 2.0 + (w[:, 1] - x > 0)
    np.testing.assert_allclose(result["d/dx"], dx, rtol=1e-13)
    np.testing.assert_allclose(result["d/dw"], np.stack([dw0, dw1], axis=1), rtol=1e-13)
    code, out, err = run(
        MODEL, "grad", "--points", str(tmp_path / "points.npz"), "--output", str(tmp_path / "o.csv")
    )
    rows = list(csv.reader((tmp_path / "o.csv").open()))
    assert len(rows) == 1001 and float(rows[1][1]) == pytest.approx(dx[0], rel=1e-13)


def test_row_order_is_kept_across_chunks(run, tmp_path, monkeypatch):
    from gradcli import points

    monkeypatch.setattr(points, "CHUNK", 7)
    x = np.arange(50, dtype=float) / 10
    np.savez(tmp_path / "p.npz", x=x)
    code, out, err = run(
        "var x\nf = x ** 3\n",
        "grad",
        "--points",
        str(tmp_path / "p.npz"),
        "--output",
        str(tmp_path / "o.npz"),
    )
    assert code == 0, err
    np.testing.assert_allclose(np.load(tmp_path / "o.npz")["d/dx"], 3 * x**2, rtol=1e-15)


def test_disconnected_targets_have_empty_or_zero_columns(run, tmp_path):
    points = tmp_path / "p.csv"
    points.write_text("a\n1.0\n")
    text = "var a\nvar b = 1.0\ny = a * stop(b)\n"
    code, out, err = run(text, "grad", "--points", str(points))
    assert out.splitlines()[1] == "1.0,1.0," and "b is disconnected" in err
    code, out, err = run(text, "grad", "--points", str(points), "--unconnected", "zero", "--strict")
    assert out.splitlines()[1] == "1.0,1.0,0.0" and code == 3


@pytest.mark.parametrize(
    "content, message",
    [
        ("x,w[0]\n1.0,2.0\n3.0\n", "row 3 has 1 fields, the header 2"),
        ("x,q\n1.0,2.0\n", "column 'q' is not an element"),
        ("x\n1.0\nabc\n", "row 3: 'abc' is not a number"),
        ("", "the first row must name"),
        ("x,x\n1,2\n", "named twice"),
    ],
)
def test_bad_csv_files(run, tmp_path, content, message):
    points = tmp_path / "p.csv"
    points.write_text(content)
    code, out, err = run(MODEL, "grad", "--points", str(points))
    assert code == 1 and message in err and out == ""


def test_bad_npz_files_and_options(run, tmp_path):
    np.savez(tmp_path / "a.npz", x=np.zeros(3), w=np.zeros((4, 2)))
    code, out, err = run(
        MODEL, "grad", "--points", str(tmp_path / "a.npz"), "--output", str(tmp_path / "o.npz")
    )
    assert code == 1 and "has 4 points, another has 3" in err
    np.savez(tmp_path / "b.npz", w=np.zeros((4, 3)))
    code, out, err = run(
        MODEL, "grad", "--points", str(tmp_path / "b.npz"), "--output", str(tmp_path / "o.npz")
    )
    assert code == 1 and "must be numbers of shape [points, 2]" in err
    np.savez(tmp_path / "c.npz", w=np.zeros((4, 2)))
    code, out, err = run(
        MODEL, "grad", "--points", str(tmp_path / "c.npz"), "--output", str(tmp_path / "o.npz")
    )
    assert code == 1 and "no value for x" in err
    (tmp_path / "d.npz").write_bytes(b"not a zip")
    code, out, err = run(
        MODEL, "grad", "--points", str(tmp_path / "d.npz"), "--output", str(tmp_path / "o.npz")
    )
    assert code == 1 and "not a readable .npz" in err
    code, out, err = run(MODEL, "grad", "--points", str(tmp_path / "a.npz"))
    assert code == 1 and "give --output OUT.npz" in err
    code, out, err = run(MODEL, "grad", "--points", str(tmp_path / "p.txt"))
    assert code == 1 and ".csv or .npz" in err
    code, out, err = run(MODEL, "grad", "--output", str(tmp_path / "o.csv"))
    assert code == 1 and "--output goes with --points" in err
    assert not (tmp_path / "o.npz").exists()
