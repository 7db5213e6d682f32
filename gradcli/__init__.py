"""gradcli: exact symbolic and numeric derivatives of small NumPy-like programs.

The library, without click or Rich:

    import gradcli
    program = gradcli.parse(open("model.txt").read(), "model.txt")
    result = gradcli.gradient(program, gradcli.Request(wrt=("w1",), order=2))

`parse`, `parse_literal`, `gradient`, `hessian`, `hessian_vector_product` and `jacobian` are
imported on first use, so that importing the
package (and `gradcli --help`) stays fast.
"""

from gradcli.errors import GradcliError, LimitError
from gradcli.model import Limits, Request, SymbolicMode, Unconnected

__all__ = [
    "GradcliError", "LimitError", "Limits", "Request", "SymbolicMode", "Unconnected",
    "parse", "parse_literal", "gradient", "hessian", "hessian_vector_product", "jacobian",
]  # fmt: skip
_LIBRARY = ("parse", "parse_literal", "gradient", "hessian", "hessian_vector_product", "jacobian")


def __getattr__(name: str):
    if name in _LIBRARY:
        from gradcli import api

        return getattr(api, name)
    raise AttributeError(f"module 'gradcli' has no attribute {name!r}")
