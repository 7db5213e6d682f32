"""A longer fuzzing campaign than the test suite runs (outside CI; one core).

    python fuzz/campaign.py [--cases N] [--seed S] [--examples M] [--findings DIR]

The command-line campaign (fuzz/generate.py): N random programs, each with a random command and
option set drawn from the whole option space (grad at any order, hessian, jacobian, check with and
without --expect, step, export to NumPy and C, graph, --points, plot; --of, --wrt, --stop, scalar
and array --grad-ys, --at, --vector, --unconnected, --symbolic, --format, --strict, --limit), 30% of them with
hostile mutations of the program and hostile option values. Each runs in process (click's
CliRunner) under `--limit time=5`. It checks: no exit 4, stdout empty on an input error, JSON
that parses, exported NumPy that compiles (and one C export in 50 that cc compiles).

Then three Hypothesis properties, each over M examples:
  valid:   generated programs; gradients agree with stop-aware finite differences;
  mutated: generated programs with characters inserted, deleted or replaced; every run ends in a
           result or a clean GradcliError (never another exception);
  bytes:   random bytes through the command line; exit 0 or 1, never a traceback.
Prints the figures and the failures found (reproducers go to --findings).

Values against an independent implementation: fuzz/jax_diff.py compares grad (orders 1 and 2),
hessian (and its closed form), hessian --vector, jacobian, eval and backward with JAX on random
programs and model templates, per element and on whole arrays (needs `pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fuzz import generate  # noqa: E402
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


CASE_TIME = 5.0  # seconds: --limit time for each command line


class Campaign:
    """Figures of the command-line campaign."""

    def __init__(self):
        self.exits: collections.Counter = collections.Counter()
        self.by_command: collections.Counter = collections.Counter()
        self.option_sets: set = set()
        self.hostile = 0
        self.slow: list[tuple[float, str]] = []
        self.problems: dict[str, list] = collections.defaultdict(list)  # signature -> reproducers
        self.c_compiled = 0


def _argv(command: str, options: list[str], path: Path, files: dict[str, Path]) -> list[str]:
    name = {"check-expect": "check", "points": "grad"}.get(command, command)
    options = [str(files[o]) if o in files else o for o in options]
    return ["--debug", name, str(path), *options]


def _signature(stderr: str) -> str:
    """The exception and the innermost gradcli frame of a traceback (to group exit-4 findings)."""
    frames = [
        line.strip()
        for line in stderr.splitlines()
        if line.strip().startswith('File "') and "gradcli" in line
    ]
    last = stderr.strip().splitlines()[-2] if stderr.strip().count("\n") >= 1 else stderr.strip()
    exception = next(
        (line for line in reversed(stderr.splitlines()) if "Error" in line or "Exception" in line), last
    )
    return f"{exception[:160]} @ {frames[-1] if frames else '?'}"


def run_cli(cases: int, seed: int, directory: Path, stats: Campaign) -> None:
    rng = random.Random(seed)
    runner = CliRunner()
    path = directory / "model.txt"
    for index in range(cases):
        text, facts = generate.program(rng)
        hostile = rng.random() < 0.3
        if hostile:
            text = generate.mutate(rng, text)
            stats.hostile += 1
        command, options, extra = generate.command_line(rng, facts, hostile)
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        files = {}
        for name, content in extra.items():
            files[name] = directory / name
            files[name].write_text(content)
        argv = _argv(command, options, path, files)
        stats.by_command[command] += 1
        stats.option_sets.add((command, tuple(sorted(o for o in options if o.startswith("--")))))
        started = time.perf_counter()
        result = runner.invoke(cli, argv)
        elapsed = time.perf_counter() - started
        code = result.exit_code
        stats.exits[code] += 1
        if elapsed > CASE_TIME + 1:
            stats.slow.append((elapsed, f"{command} {options}\n{text}"))
        problem = _problem(command, options, result, stats, directory)
        if problem:
            reproducer = {"case": index, "argv": argv[1:], "program": text, "stderr": result.stderr[-3000:]}
            stats.problems[problem].append(reproducer)
        if index % 1000 == 999:
            print(
                f"  {index + 1} cases, exits {dict(stats.exits)}, {len(stats.problems)} problems", flush=True
            )


def _problem(command: str, options: list[str], result, stats: Campaign, directory: Path) -> str | None:
    """What is wrong with one run, or None."""
    code, out, err = result.exit_code, result.stdout, result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return "exception escaped: " + "".join(traceback.format_exception_only(result.exception)).strip()
    if code == 4:
        return "exit 4: " + _signature(err)
    if code not in (0, 1, 2, 3):
        return f"exit {code}"
    if "Traceback" in err:
        return "traceback on stderr"
    if code == 1 and out:
        return "exit 1 with output on stdout"
    if code in (0, 3) and "json" in options and out.strip():
        try:
            json.loads(out)
        except ValueError:
            return "--format json output is not JSON"
    if code == 0 and command == "export":
        if "numpy" in options:
            try:
                compile(out, "exported.py", "exec")
            except (SyntaxError, RecursionError, ValueError) as error:
                return f"exported NumPy does not compile: {type(error).__name__}"
        elif shutil.which("cc") and random.random() < 0.02:
            (directory / "exported.c").write_text(out)
            compiled = subprocess.run(
                ["cc", "-c", "exported.c", "-o", "/dev/null"], cwd=directory, capture_output=True
            )
            stats.c_compiled += 1
            if compiled.returncode:
                return "exported C does not compile: " + compiled.stderr.decode(errors="replace")[:200]
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--findings", type=Path, help="write each problem's reproducers here (JSON)")
    args = parser.parse_args()
    started = time.time()
    stats = Campaign()
    with tempfile.TemporaryDirectory() as directory:
        run_cli(args.cases, args.seed, Path(directory), stats)
        cli_seconds = time.time() - started
        if args.examples:
            run_valid(args.examples)
            run_mutated(args.examples)
            run_bytes(args.examples, Path(directory))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(
        f"command-line campaign: {args.cases} programs and option sets (seed {args.seed}), "
        f"{stats.hostile} with hostile mutations, {len(stats.option_sets)} distinct option sets, "
        f"{cli_seconds:.0f} s, peak {peak} MiB"
    )
    print(f"  commands: {dict(sorted(stats.by_command.items()))}")
    print(f"  exit codes: {dict(sorted(stats.exits.items()))}")
    print(f"  C exports compiled: {stats.c_compiled}; runs over {CASE_TIME + 1:g} s: {len(stats.slow)}")
    print(f"  problems: {sum(map(len, stats.problems.values()))} in {len(stats.problems)} kinds")
    for signature, reproducers in sorted(stats.problems.items(), key=lambda item: -len(item[1])):
        first = reproducers[0]
        print(f"--- {len(reproducers)} x {signature}\n    {first['argv']}\n    {first['program'][:300]!r}")
    if args.findings:
        args.findings.write_text(json.dumps({k: v[:5] for k, v in stats.problems.items()}, indent=1))
    print(f"hypothesis properties: {COUNTS} in {time.time() - started - cli_seconds:.0f} s")
    print(f"failures: {len(FAILURES)}")
    for failure in FAILURES[:20]:
        print("---", failure, sep="\n")
    return 1 if FAILURES or stats.problems else 0


if __name__ == "__main__":
    sys.exit(main())
