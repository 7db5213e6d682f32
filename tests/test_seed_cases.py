"""SEED-CASES.md through the command line, in JSON and in text."""

from pathlib import Path

SAMPLES = Path(__file__).parent.parent / "samples"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


def test_seed1_no_path(run_json, run):
    code, doc, _ = run_json(sample("seed1_no_path.txt"), "grad", "--wrt", "w1,w2")
    assert code == 0
    w1, w2 = doc["gradients"]["w1"], doc["gradients"]["w2"]
    assert w1 == {
        "status": "ok",
        "shape": [1, 2],
        "symbolic": [["2", "1"]],
        "value": [[2, 1]],
        "matrix": "ones([1, 1]) @ [[2], [1]].T",
    }
    assert all(type(v) is int for v in w1["value"][0])
    assert w2["status"] == "disconnected" and w2["value"] is None and w2["symbolic"] is None
    assert "no path" in w2["reason"] and "res" in w2["reason"]
    code, doc, _ = run_json(sample("seed1_no_path.txt"), "grad", "--unconnected", "zero")
    assert doc["gradients"]["w2"]["value"] == [[0, 0]]
    assert doc["gradients"]["w2"]["status"] == "disconnected"
    code, doc, _ = run_json(sample("seed1_no_path.txt"), "grad", "--strict")
    assert code == 3 and doc["gradients"]["w1"]["value"] == [[2, 1]]
    code, out, _ = run(sample("seed1_no_path.txt"), "grad")
    assert "DISCONNECTED" in out and "no path from w2 to res" in out


def test_seed2_grad_ys(run_json):
    args = ("grad", "--of", "z1,z2", "--grad-ys", "z1=[2.,2.,3.]", "--grad-ys", "z2=[3.,2.,4.]")
    code, doc, _ = run_json(sample("seed2_grad_ys.txt"), *args)
    values = {k: v["value"] for k, v in doc["gradients"].items()}
    assert values == {"w1": [2, 2, 3], "w2": [2, 2, 3], "w3": [5, 4, 7], "w4": [3, 2, 4]}
    assert all(type(x) is float for v in values.values() for x in v)
    assert all(v["status"] == "ok" for v in doc["gradients"].values())
    code, doc, _ = run_json(sample("seed2_grad_ys.txt"), "grad", "--of", "z1,z2")
    assert doc["gradients"]["w1"]["value"] == [1, 1, 1]
    assert doc["gradients"]["w3"]["value"] == [2, 2, 2]
    assert all(type(x) is int for x in doc["gradients"]["w3"]["value"])


def test_seed3_stop_blocks(run_json):
    code, doc, _ = run_json(sample("seed3_stop_blocks.txt"), "grad")
    w1, w2 = doc["gradients"]["w1"], doc["gradients"]["w2"]
    assert w1["status"] == "disconnected" and w1["value"] is None
    assert w1["reason"] == "only path passes stop(...) at line 4"
    assert w2 == {"status": "ok", "shape": [], "symbolic": "3.0*w1", "value": 6.0, "matrix": "stop(a)"}
    assert doc["of"] == ["b"] and doc["wrt"] == ["w1", "w2"] and doc["order"] == 1


def test_seed4_other_path_open(run_json):
    code, doc, _ = run_json(sample("seed4_stop_one_path.txt"), "grad")
    assert {k: (v["status"], v["value"]) for k, v in doc["gradients"].items()} == {
        "a": ("ok", 1.0),
        "b": ("ok", 1.0),
    }


def test_seed5_step(run_json):
    code, doc, _ = run_json(sample("seed3_stop_blocks.txt"), "step", "--lr", "0.1")
    assert code == 0
    assert doc["values"] == {"w1": 2.0, "w2": 1.4}
    assert doc["loss"][0] == 12.0 and abs(doc["loss"][1] - 8.4) < 1e-12
    assert "stop(...) at line 4" in doc["unchanged"]["w1"]
    code, doc, _ = run_json(sample("seed3_stop_blocks.txt"), "step", "--lr", "0.1", "--steps", "3")
    assert abs(doc["values"]["w2"] - 0.2) < 1e-12 and len(doc["loss"]) == 4


def test_seed6_orders(run_json):
    expected = {1: ("2*a", 2.0), 2: ("2", 2), 3: ("0", 0)}
    for order, (text, value) in expected.items():
        code, doc, _ = run_json(sample("seed6_square.txt"), "grad", "--order", str(order))
        a = doc["gradients"]["a"]
        assert (a["status"], a["symbolic"], a["value"]) == ("ok", text, value)
    code, doc, _ = run_json(sample("seed6_constant.txt"), "grad", "--order", "2")
    assert doc["gradients"]["a"]["status"] == "ok" and doc["gradients"]["a"]["value"] == 0


def test_seed7_partial(run_json):
    code, doc, _ = run_json(sample("seed7_partial.txt"), "grad", "--of", "y")
    assert doc["gradients"]["a"]["value"] == 3.0
    code, doc, _ = run_json(sample("seed7_partial.txt"), "grad", "--of", "y", "--stop", "b")
    assert doc["gradients"]["a"]["value"] == 1.0 and doc["gradients"]["a"]["status"] == "ok"


def test_seed8_cancels(run_json):
    code, doc, _ = run_json(sample("seed8_cancels.txt"), "grad")
    w = doc["gradients"]["w"]
    assert (w["status"], w["symbolic"], w["value"]) == ("ok", "0", 0)
