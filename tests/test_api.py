"""The library API that the command line is built on."""

import pytest

import gradcli


def test_library_round_trip():
    program = gradcli.parse("var w1 = 2.0\nvar w2 = 2.0\na = w1 * 3.0\nb = stop(a) * w2\n", "m.txt")
    result = gradcli.gradient(program, gradcli.Request())
    w1, w2 = result.gradients
    assert (w1.status, w1.reason, w1.value) == ("disconnected", "only path passes stop(...) at line 4", None)
    assert (w2.status, w2.symbolic, w2.value) == ("ok", "3.0*w1", 6.0)
    hessian = gradcli.hessian(program, gradcli.Request(wrt=("w2",)))
    assert hessian.rows == ("w2",) and hessian.value == [[0.0]]
    jacobian = gradcli.jacobian(program, gradcli.Request(of=("a",)))
    assert jacobian.value == [[3.0]] and jacobian.cols == ("w1",)  # w2 does not reach a
    assert jacobian.disconnected == {"w2": "no path from w2 to a"}


def test_library_errors_carry_their_place():
    with pytest.raises(gradcli.GradcliError) as caught:
        gradcli.parse("var x\ny = x +* 2\n", "m.txt")
    assert (caught.value.span.line, caught.value.span.column) == (2, 8)
    with pytest.raises(AttributeError):
        gradcli.nothing_here  # noqa: B018
