"""Connectivity on the program as written: who reaches the outputs, and what blocks the rest."""

from gradcli.graph import disconnection_reasons, edges
from gradcli.parser import parse


def reasons(text: str, outputs, targets, stop=()):
    return disconnection_reasons(parse(text), tuple(outputs), tuple(targets), tuple(stop))


def test_open_blocked_and_missing_paths():
    text = "var a\nvar b\nvar c\nx = stop(a) * b\ny = x + a\nz = c\n"
    assert reasons(text, ["x"], ["a", "b", "c"]) == {
        "a": "only path passes stop(...) at line 4",
        "b": None,
        "c": "no path from c to x",
    }
    assert reasons(text, ["y"], ["a"]) == {"a": None}  # the direct use in y is open


def test_connectivity_is_decided_before_any_algebra():
    assert reasons("var w\ny = w - w\n", ["y"], ["w"]) == {"w": None}
    assert reasons("var w\ny = 0 * w\n", ["y"], ["w"]) == {"w": None}
    assert reasons("var w\ny = stop(w) * 2\n", ["y"], ["w"])["w"].startswith("only path passes stop")


def test_comparisons_and_steps_pass_no_gradient_but_do_not_disconnect(run_json):
    """Only stops disconnect (the spec's definition); a path through a comparison, where's
    condition or floor is connected with a zero gradient, as JAX gives."""
    for body in ("where(z > 0.1, v, 2 * v)", "floor(z) * v", "(z > 0) * v + sign(z)"):
        assert reasons(f"var z\nvar v\ny = {body}\n", ["y"], ["z"]) == {"z": None}
        code, doc, _ = run_json(f"var z = 0.5\nvar v = 1.5\ny = {body}\n", "grad", "--wrt", "z", "--strict")
        assert code == 0 and doc["gradients"]["z"] == {
            "status": "ok",
            "shape": [],
            "symbolic": "0",
            "value": 0.0,
            "matrix": "0",
        }, body


def test_every_blocker_on_the_way_is_named():
    text = "var a\nb = stop(a)\nc = stop(a) * 2\nd = b + c\n"
    assert reasons(text, ["d"], ["a"]) == {
        "a": "every path is blocked: stop(...) at line 2; stop(...) at line 3"
    }


def test_stop_names_block_their_inputs_only():
    text = "var a\nb = 2 * a\ny = a + b\n"
    assert reasons(text, ["y"], ["a"], stop=["b"]) == {"a": None}
    assert reasons(text, ["b"], ["a"], stop=["b"]) == {"a": "only path passes --stop b"}


def test_an_output_may_be_the_target_itself_and_several_outputs_count():
    text = "var a\nvar b\nx = a\ny = stop(b)\n"
    assert reasons(text, ["a"], ["a"]) == {"a": None}
    assert reasons(text, ["x", "y"], ["a", "b"]) == {"a": None, "b": "only path passes stop(...) at line 4"}


def test_nested_stops_and_edges():
    text = "var a\nvar b\ny = stop(a * stop(b)) + b\n"
    by_source = {e.source: e for e in edges(parse(text))}
    assert not by_source["a"].open and by_source["a"].blockers == ("stop(...) at line 3",)
    assert by_source["b"].open  # one use of b lies outside every stop


def test_the_language_constants_are_not_nodes(run):
    code, out, err = run("var x = 1.0\ny = pi * x + e\n", "graph", "--format", "dot")
    assert code == 0 and '"pi"' not in out and '"e"' not in out and '"x"' in out
