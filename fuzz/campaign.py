"""A longer fuzzing campaign than the test suite runs (outside CI).

    python fuzz/campaign.py [--examples N]

Three properties, each over N Hypothesis examples:
  valid:   generated programs; gradients agree with stop-aware finite differences;
  mutated: generated programs with characters inserted, deleted or replaced; every run ends in a
           result or a clean GradcliError (never another exception);
  bytes:   random bytes through the command line; exit 0 or 1, never a traceback.
Prints how many inputs each tried and the failures found.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from gradcli import api  # noqa: E402
from gradcli.cli import cli  # noqa: E402
from gradcli.errors import GradcliError  # noqa: E402
from gradcli.model import Limits, Request  # noqa: E402
from gradcli.parser import parse, parse_literal  # noqa: E402
from tests.oracle import central_gradient, mp_gradient_element  # noqa: E402
from tests.programs import VALUES, program  # noqa: E402

COUNTS = {"valid": 0, "mutated": 0, "bytes": 0}
FAILURES: list[str] = []
QUICK = Limits(time=20.0)


def run_valid(examples: int) -> None:
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(program(max_definitions=4, depth=4), VALUES)
    def valid(generated, vals):
        COUNTS["valid"] += 1
        text, outputs, _ = generated
        request = Request(
            of=tuple(outputs),
            limits=QUICK,
            at={k: parse_literal(repr(v.tolist()), "--at") for k, v in vals.items()},
        )
        prog = parse(text)
        result = api.gradient(prog, request)
        env = {**vals, "c": np.array([0.5, -1.5, 2.0])}
        for target in result.gradients:
            expected = central_gradient(prog, env, outputs, target.name)
            computed = np.zeros_like(expected) if target.value is None else np.array(target.value, float)
            scale = max(1.0, float(np.max(np.abs(expected))))
            close = np.isclose(computed, expected, rtol=1e-6, atol=1e-7 * scale)
            for index in [i for i in np.ndindex(close.shape) if not close[i]]:  # ask mpmath too
                exact = mp_gradient_element(prog, env, outputs, target.name, index)
                if not np.isclose(computed[index], exact, rtol=1e-9, atol=1e-12 * scale):
                    FAILURES.append(
                        f"valid: d/d{target.name}{list(index)} computed {computed[index]!r}, "
                        f"mpmath {exact!r}, at {vals}\n{text}"
                    )

    valid()


def run_mutated(examples: int) -> None:
    alphabet = "varconstxyzMvc=+-*/@()[]:,.T0123456789 \n#e_" + "\x00\xff"

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(
        program(max_definitions=3, depth=3),
        st.lists(
            st.tuples(st.integers(0, 10**6), st.sampled_from("idr"), st.sampled_from(alphabet)),
            min_size=1,
            max_size=4,
        ),
    )
    def mutated(generated, edits):
        COUNTS["mutated"] += 1
        text = generated[0]
        for position, kind, char in edits:
            i = position % (len(text) + 1)
            text = {
                "i": text[:i] + char + text[i:],
                "d": text[:i] + text[i + 1 :],
                "r": text[:i] + char + text[i + 1 :],
            }[kind]
        try:
            api.gradient(parse(text), Request(limits=QUICK))
        except GradcliError:
            pass
        except Exception as error:  # noqa: BLE001 - this is what the campaign looks for
            FAILURES.append(f"mutated: {type(error).__name__}: {error}\n{text!r}")

    mutated()


def run_bytes(examples: int, directory: Path) -> None:
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.binary(min_size=1, max_size=120))
    def random_bytes(data):
        COUNTS["bytes"] += 1
        path = directory / "input.txt"
        path.write_bytes(data)
        result = CliRunner().invoke(cli, ["grad", str(path), "--format", "json"])
        if result.exit_code not in (0, 1) or "Traceback" in result.stderr:
            FAILURES.append(f"bytes: exit {result.exit_code}: {data!r}\n{result.stderr}")

    random_bytes()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000)
    args = parser.parse_args()
    started = time.time()
    with tempfile.TemporaryDirectory() as directory:
        run_valid(args.examples)
        run_mutated(args.examples)
        run_bytes(args.examples, Path(directory))
    print(f"inputs tried: {COUNTS} in {time.time() - started:.0f} s")
    print(f"failures: {len(FAILURES)}")
    for failure in FAILURES[:20]:
        print("---", failure, sep="\n")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
