"""gradcli's benchmark: whole processes, interleaved with their JAX peers, medians of several runs.

    python bench/run.py [--runs 5] [--quick] [--tensorflow PYTHON]

Writes the programs to a temporary directory, then times each gradcli process and (when JAX is
installed: pip install -e '.[bench]') the JAX process doing the same job, interleaved so both see
the same machine; with --tensorflow, an interpreter that has TensorFlow (kept out of the project's
environment: it is 1.5 GB), also seed case 3 against TensorFlow's `tf.gradients`. Prints a
table of medians and ratios against the targets, the peak memory of each process, the values'
agreement with JAX, growth curves (Rosenbrock n = 100..3000, chains of depth 50..800) and a
plain-SymPy baseline at small sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

GRADCLI = [sys.executable, "-m", "gradcli"]


# ---- programs ----------------------------------------------------------------------------------


def literal(array) -> str:
    return json.dumps(np.round(np.asarray(array, dtype=float), 6).tolist())


def rosenbrock(n: int, seed: int = 0) -> tuple[str, np.ndarray]:
    x = np.random.default_rng(seed).uniform(-1, 1, n).round(3)
    text = f"var x = {literal(x)}\nf = sum(100*(x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2)\n"
    return text, x


def tanh_network(seed: int = 0) -> tuple[str, dict]:
    rng = np.random.default_rng(seed)
    values = {
        "X": rng.normal(size=(16, 8)).round(4), "Y": rng.normal(size=(16, 1)).round(4),
        "W1": (rng.normal(size=(8, 16)) * 0.3).round(4), "W2": (rng.normal(size=(16, 1)) * 0.3).round(4),
    }  # fmt: skip
    text = (
        f"const X = {literal(values['X'])}\nconst Y = {literal(values['Y'])}\n"
        f"var W1 = {literal(values['W1'])}\nvar W2 = {literal(values['W2'])}\n"
        "loss = mean((tanh(X @ W1) @ W2 - Y)**2)\n"
    )
    return text, values


def chain(depth: int) -> str:
    lines = ["var x0 = 0.3"] + [f"x{i + 1} = sin(x{i}) * x{i} + 0.5" for i in range(depth)]
    return "\n".join(lines) + "\n"


SEED3 = "var w1 = 2.0\nvar w2 = 2.0\na = w1 * 3.0\nb = stop(a) * w2\n"


def logistic(work: Path, rows: int, columns: int, seed: int = 2) -> tuple[str, list[str]]:
    """L2-regularised logistic regression with its data in .npy files: (program text, --at options)."""
    rng = np.random.default_rng(seed)
    values = {
        "X": rng.normal(size=(rows, columns)) / 10, "y": np.sign(rng.normal(size=rows)),
        "w": rng.normal(size=columns) * 0.1,
    }  # fmt: skip
    for name, array in values.items():
        np.save(work / f"logistic-{name}.npy", array)
    text = (
        f"const X: [{rows}, {columns}]\nconst y: [{rows}]\nvar w: [{columns}]\n"
        "L = sum(softplus(-y * (X @ w))) + sum(w ** 2) / 2\n"
    )
    return text, [a for n in values for a in ("--at", f"{n}=@{work / f'logistic-{n}.npy'}")]


def rosenbrock_hvp(work: Path, n: int, seed: int = 3) -> tuple[str, list[str]]:
    """Rosenbrock over n variables with x and the vector in .npy files: (program, options)."""
    rng = np.random.default_rng(seed)
    np.save(work / "hvp-x.npy", rng.uniform(-1, 1, n))
    np.save(work / "hvp-v.npy", rng.normal(size=n))
    text = f"var x: [{n}]\nf = sum(100*(x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2)\n"
    return text, ["--at", f"x=@{work / 'hvp-x.npy'}", "--vector", f"x=@{work / 'hvp-v.npy'}"]


def mlp(
    work: Path, inputs: int, hidden: int, outputs: int, batch: int, seed: int = 0
) -> tuple[str, list[str]]:
    """A tanh network with its data and weights in .npy files: (program text, the --at options)."""
    rng = np.random.default_rng(seed)
    values = {
        "X": rng.normal(size=(batch, inputs)), "T": rng.normal(size=(batch, outputs)),
        "W1": rng.normal(size=(inputs, hidden)) / np.sqrt(inputs), "b1": np.zeros(hidden),
        "W2": rng.normal(size=(hidden, outputs)) / np.sqrt(hidden),
    }  # fmt: skip
    at = []
    for name, array in values.items():
        path = work / f"mlp-{hidden}-{batch}-{name}.npy"
        np.save(path, array)
        at += ["--at", f"{name}=@{path}"]
    text = (
        f"const X: [{batch}, {inputs}]\nconst T: [{batch}, {outputs}]\nvar W1: [{inputs}, {hidden}]\n"
        f"var b1: [{hidden}]\nvar W2: [{hidden}, {outputs}]\n"
        "hidden = tanh(X @ W1 + b1)\nloss = mean((hidden @ W2 - T) ** 2)\n"
    )
    return text, at


JAX_PRELUDE = (
    "import json, sys\nimport jax\njax.config.update('jax_enable_x64', True)\nimport jax.numpy as jnp\n"
)
JAX_ROSENBROCK = JAX_PRELUDE + textwrap.dedent("""
    x = jnp.array(json.load(open(sys.argv[1])))
    f = lambda x: jnp.sum(100*(x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2)
    g = jax.jit(jax.grad(f))(x); h = jax.jit(jax.hessian(f))(x)
    json.dump({"grad": g.tolist(), "hessian_sum": float(h.sum())}, sys.stdout)
""")
JAX_TANH = JAX_PRELUDE + textwrap.dedent("""
    v = {k: jnp.array(a) for k, a in json.load(open(sys.argv[1])).items()}
    loss = lambda W1, W2: jnp.mean((jnp.tanh(v["X"] @ W1) @ W2 - v["Y"])**2)
    g1, g2 = jax.jit(jax.grad(loss, argnums=(0, 1)))(v["W1"], v["W2"])
    json.dump({"W1": g1.tolist(), "W2": g2.tolist()}, sys.stdout)
""")
JAX_CHAIN = JAX_PRELUDE + textwrap.dedent("""
    depth = int(sys.argv[1])
    def f(x):
        for _ in range(depth):
            x = jnp.sin(x) * x + 0.5
        return x
    g = jax.jit(jax.grad(f)); h = jax.jit(jax.grad(jax.grad(f)))
    json.dump({"grad": float(g(0.3)), "second": float(h(0.3))}, sys.stdout)
""")
JAX_POINTS = JAX_PRELUDE + textwrap.dedent("""
    import numpy as np
    data = np.load(sys.argv[1])
    f = lambda x, y: jnp.sin(x) * jnp.exp(y) + x**2 * y
    gx, gy = jax.jit(jax.vmap(jax.grad(f, argnums=(0, 1))))(data["x"], data["y"])
    np.savez(sys.argv[2], **{"d/dx": np.asarray(gx), "d/dy": np.asarray(gy)})
""")
JAX_MLP = JAX_PRELUDE + textwrap.dedent("""
    import numpy as np
    v = {n: jnp.array(np.load(f"{sys.argv[1]}-{n}.npy")) for n in ("X", "T", "W1", "b1", "W2")}
    def loss(W1, b1, W2):
        return jnp.mean((jnp.tanh(v["X"] @ W1 + b1) @ W2 - v["T"]) ** 2)
    g = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(v["W1"], v["b1"], v["W2"])
    json.dump({n: np.asarray(a).tolist() for n, a in zip(("W1", "b1", "W2"), g)}, sys.stdout)
""")
JAX_LOGISTIC = JAX_PRELUDE + textwrap.dedent("""
    import numpy as np
    X, y, w = (jnp.array(np.load(f"{sys.argv[1]}-{n}.npy")) for n in ("X", "y", "w"))
    L = lambda w: jnp.sum(jax.nn.softplus(-y * (X @ w))) + jnp.sum(w ** 2) / 2
    json.dump({"value": np.asarray(jax.jit(jax.hessian(L))(w)).tolist()}, sys.stdout)
""")
JAX_HVP = JAX_PRELUDE + textwrap.dedent("""
    import numpy as np
    x, v = jnp.array(np.load(f"{sys.argv[1]}-x.npy")), jnp.array(np.load(f"{sys.argv[1]}-v.npy"))
    f = lambda x: jnp.sum(100*(x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2)
    hvp = jax.jit(lambda x, v: jax.jvp(jax.grad(f), (x,), (v,))[1])
    json.dump({"x": np.asarray(hvp(x, v)).tolist()}, sys.stdout)
""")
JAX_SEED3 = JAX_PRELUDE + textwrap.dedent("""
    def b(w1, w2):
        return jax.lax.stop_gradient(w1 * 3.0) * w2
    g = jax.grad(b, argnums=(0, 1))(2.0, 2.0)
    json.dump({"w2": float(g[1])}, sys.stdout)
""")

# Seed case 3 as TensorFlow ran it: tf.gradients (a graph, as in TF 1.x) through tf.stop_gradient.
TF_SEED3 = textwrap.dedent("""
    import json, sys
    import tensorflow as tf

    w1 = tf.Variable(2.0, dtype=tf.float64)
    w2 = tf.Variable(2.0, dtype=tf.float64)

    @tf.function
    def gradients():
        a = w1 * 3.0
        b = tf.stop_gradient(a) * w2
        return tf.gradients(b, [w1, w2])

    g = gradients()
    json.dump({"w1": None if g[0] is None else float(g[0]), "w2": float(g[1])}, sys.stdout)
""")


# ---- timing -------------------------------------------------------------------------------------


def measure(command: list[str]) -> tuple[float, float, str]:
    """(seconds, peak resident MiB, stdout) of one whole process. The peak comes from GNU time
    where it exists: a child's own maximum would include the benchmark's pages from before exec."""
    with tempfile.NamedTemporaryFile("r") as report:
        wrapped = ["/usr/bin/time", "-f", "%M", "-o", report.name, *command] if TIME else command
        start = time.perf_counter()
        process = subprocess.run(wrapped, capture_output=True)
        seconds = time.perf_counter() - start
        if process.returncode not in (0, 3):
            raise RuntimeError(f"{' '.join(command)} failed: {process.stderr.decode()[-500:]}")
        lines = report.read().split()
        memory = int(lines[-1]) / 1024 if TIME and lines else float("nan")
    return seconds, memory, process.stdout.decode()


TIME = os.path.exists("/usr/bin/time")


def interleaved(jobs: dict[str, list[list[str]]], runs: int) -> dict[str, dict]:
    """Each job is one or more processes run back to back; jobs alternate within every round."""
    results = {name: {"times": [], "memory": 0.0, "outputs": []} for name in jobs}
    for _ in range(runs):
        for name, commands in jobs.items():
            total, outputs = 0.0, []
            for command in commands:
                seconds, memory, out = measure(command)
                total += seconds
                results[name]["memory"] = max(results[name]["memory"], memory)
                outputs.append(out)
            results[name]["times"].append(total)
            results[name]["outputs"] = outputs
    for result in results.values():
        result["median"] = statistics.median(result["times"])
    return results


# ---- the suite ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer sizes in the growth curves")
    parser.add_argument("--tensorflow", metavar="PYTHON", help="an interpreter with TensorFlow installed")
    args = parser.parse_args()
    have_jax = _has_module("jax")
    # Byte-compile gradcli as a regular (non-editable) install does, so that no run pays for it.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(__file__).resolve().parent.parent / "gradcli")]
    )
    work = Path(tempfile.mkdtemp(prefix="gradcli-bench-"))
    files = {}
    rosen_text, rosen_x = rosenbrock(1000)
    tanh_text, tanh_values = tanh_network()
    for name, text in {
        "rosen.txt": rosen_text,
        "tanh.txt": tanh_text,
        "chain.txt": chain(200),
        "seed3.txt": SEED3,
    }.items():
        (work / name).write_text(text)
        files[name] = str(work / name)
    (work / "rosen.json").write_text(json.dumps(rosen_x.tolist()))
    (work / "f.txt").write_text("var x\nvar y\nf = sin(x) * exp(y) + x**2 * y\n")
    for count in (1_000_000, 10_000_000):
        rng = np.random.default_rng(count)
        np.savez(work / f"points-{count}.npz", x=rng.normal(size=count), y=rng.normal(size=count))
    files["points"] = str(work / "points-1000000.npz")
    (work / "tanh.json").write_text(json.dumps({k: v.tolist() for k, v in tanh_values.items()}))
    mlp_small, mlp_small_at = mlp(work, 784, 128, 10, 256)
    mlp_large, mlp_large_at = mlp(work, 784, 1024, 10, 512)
    (work / "mlp-small.txt").write_text(mlp_small)
    (work / "mlp-large.txt").write_text(mlp_large)
    logistic_text, logistic_at = logistic(work, 2000, 1000)
    (work / "logistic.txt").write_text(logistic_text)
    hvp_text, hvp_at = rosenbrock_hvp(work, 1_000_000)
    (work / "hvp.txt").write_text(hvp_text)
    for name, script in {
        "jax_rosen.py": JAX_ROSENBROCK,
        "jax_tanh.py": JAX_TANH,
        "jax_chain.py": JAX_CHAIN,
        "jax_seed3.py": JAX_SEED3,
        "jax_points.py": JAX_POINTS,
        "jax_mlp.py": JAX_MLP,
        "jax_logistic.py": JAX_LOGISTIC,
        "jax_hvp.py": JAX_HVP,
        "tf_seed3.py": TF_SEED3,
    }.items():
        (work / name).write_text(script)

    def gradcli(*argv):
        return [*GRADCLI, *argv, "--format", "json"]

    jobs = {
        "rosenbrock-1000 grad + hessian": [
            gradcli("grad", files["rosen.txt"]),
            gradcli("hessian", files["rosen.txt"]),
        ],
        "tanh network grad": [gradcli("grad", files["tanh.txt"])],
        "chain-200 grad + order 2": [
            gradcli("grad", files["chain.txt"]),
            gradcli("grad", files["chain.txt"], "--order", "2"),
        ],
        "seed case 3 grad": [gradcli("grad", files["seed3.txt"])],
        "1M points grad (NPZ in and out)": [
            [
                *GRADCLI,
                "grad",
                str(work / "f.txt"),
                "--points",
                files["points"],
                "--output",
                str(work / "out.npz"),
            ]
        ],
        "mlp 784-128-10 b256 grad (.npy)": [gradcli("grad", str(work / "mlp-small.txt"), *mlp_small_at)],
        "mlp 784-1024-10 b512 grad (.npy)": [gradcli("grad", str(work / "mlp-large.txt"), *mlp_large_at)],
        "rosenbrock-1000, default text": [  # what a person at a terminal gets
            [*GRADCLI, "grad", files["rosen.txt"]],
            [*GRADCLI, "hessian", files["rosen.txt"]],
        ],
        "rosenbrock-1000, --symbolic none": [
            gradcli("grad", files["rosen.txt"], "--symbolic", "none"),
            gradcli("hessian", files["rosen.txt"], "--symbolic", "none"),
        ],
        "logistic 2000x1000 hessian": [gradcli("hessian", str(work / "logistic.txt"), *logistic_at)],
        "rosenbrock 10^6 hessian --vector": [gradcli("hessian", str(work / "hvp.txt"), *hvp_at)],
        "gradcli --help": [[*GRADCLI, "--help"]],
    }
    peers = {
        "rosenbrock-1000 grad + hessian": [
            [sys.executable, str(work / "jax_rosen.py"), str(work / "rosen.json")]
        ],
        "tanh network grad": [[sys.executable, str(work / "jax_tanh.py"), str(work / "tanh.json")]],
        "chain-200 grad + order 2": [[sys.executable, str(work / "jax_chain.py"), "200"]],
        "seed case 3 grad": [[sys.executable, str(work / "jax_seed3.py")]],
        "mlp 784-128-10 b256 grad (.npy)": [
            [sys.executable, str(work / "jax_mlp.py"), str(work / "mlp-128-256")]
        ],
        "mlp 784-1024-10 b512 grad (.npy)": [
            [sys.executable, str(work / "jax_mlp.py"), str(work / "mlp-1024-512")]
        ],
        "1M points grad (NPZ in and out)": [
            [sys.executable, str(work / "jax_points.py"), files["points"], str(work / "jax-out.npz")]
        ],
        "rosenbrock-1000, default text": [
            [sys.executable, str(work / "jax_rosen.py"), str(work / "rosen.json")]
        ],
        "rosenbrock-1000, --symbolic none": [
            [sys.executable, str(work / "jax_rosen.py"), str(work / "rosen.json")]
        ],
        "logistic 2000x1000 hessian": [
            [sys.executable, str(work / "jax_logistic.py"), str(work / "logistic")]
        ],
        "rosenbrock 10^6 hessian --vector": [[sys.executable, str(work / "jax_hvp.py"), str(work / "hvp")]],
    }
    targets = {  # issue 14's
        "rosenbrock-1000 grad + hessian": 1.0,
        "rosenbrock-1000, default text": 1.0,
        "rosenbrock-1000, --symbolic none": 1.0,
        "tanh network grad": 0.5,
        "chain-200 grad + order 2": 0.25,
        "logistic 2000x1000 hessian": 0.3,
        "mlp 784-128-10 b256 grad (.npy)": 1.0,
        "mlp 784-1024-10 b512 grad (.npy)": 1.0,
    }
    all_jobs = dict(jobs)
    if have_jax:
        all_jobs.update({f"jax: {k}": v for k, v in peers.items()})
    if args.tensorflow:
        all_jobs["tensorflow: seed case 3 grad"] = [[args.tensorflow, str(work / "tf_seed3.py")]]
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
        f"{args.runs} runs each, interleaved"
    )
    results = interleaved(all_jobs, args.runs)

    print(f"\n{'job':34} {'gradcli':>9} {'JAX':>9} {'ratio':>7} {'target':>8} {'peak MiB':>9}")
    for name in jobs:
        ours = results[name]
        peer = results.get(f"jax: {name}")
        line = f"{name:34} {ours['median']:9.3f}"
        if peer:
            ratio = ours["median"] / peer["median"]
            target = targets.get(name)
            verdict = "" if target is None else ("ok" if ratio <= target else "MISSED")
            line += (
                f" {peer['median']:9.3f} {ratio:7.2f} {f'<= {target:.2f}x' if target else '':>8} {verdict}"
            )
        else:
            line += f" {'-':>9} {'-':>7} {'':>8}"
        line += f" {ours['memory']:9.0f}"
        print(line)
    tensorflow = results.get("tensorflow: seed case 3 grad")
    if tensorflow:
        ours, peer = results["seed case 3 grad"]["median"], tensorflow["median"]
        verdict = "ok" if ours / peer <= 0.08 else "MISSED"
        print(
            f"{'seed case 3 grad vs TensorFlow':34} {ours:9.3f} {peer:9.3f} {ours / peer:7.2f} "
            f"{'<= 0.08x':>8} {verdict} {tensorflow['memory']:9.0f} (TensorFlow's peak)"
        )
        print(f"  TensorFlow printed {tensorflow['outputs'][0]}; gradcli: {_seed3(results)}")
    else:
        print("seed case 3 <= 0.08x TensorFlow: not measured (--tensorflow PYTHON); issue 4's 3.7 s: 0.30 s")
    print("targets also: --help <= 0.15 s; memory <= 1024 MiB")

    flat = [
        measure([*GRADCLI, "grad", str(work / "f.txt"), "--points", str(work / f"points-{n}.npz"),
                 "--output", str(work / f"out-{n}.npz")])
        for n in (1_000_000, 10_000_000)
    ]  # fmt: skip
    print(
        f"points memory: 1M points {flat[0][1]:.0f} MiB in {flat[0][0]:.2f} s; "
        f"10M points {flat[1][1]:.0f} MiB in {flat[1][0]:.2f} s (flat: the input is streamed)"
    )
    if have_jax:
        check_agreement(results)
        ours, peer = np.load(work / "out-1000000.npz"), np.load(work / "jax-out.npz")
        worst = max(_rel(ours["d/dx"], peer["d/dx"]), _rel(ours["d/dy"], peer["d/dy"]))
        print(f"  1M points d/dx, d/dy   {worst:.1e}")
    growth(args.quick)
    whole_array_growth(args.quick)
    sympy_baseline()
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _seed3(results) -> str:
    gradients = json.loads(results["seed case 3 grad"]["outputs"][0])["gradients"]
    return json.dumps({name: gradient["value"] for name, gradient in gradients.items()})


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def check_agreement(results) -> None:
    """gradcli's values against JAX's, as the largest relative difference."""
    ours = json.loads(results["rosenbrock-1000 grad + hessian"]["outputs"][0])
    hessian = json.loads(results["rosenbrock-1000 grad + hessian"]["outputs"][1])
    peer = json.loads(results["jax: rosenbrock-1000 grad + hessian"]["outputs"][0])
    print("\nagreement with JAX (largest relative difference):")
    print(f"  rosenbrock gradient   {_rel(ours['gradients']['x']['value'], peer['grad']):.1e}")
    print(f"  rosenbrock hessian sum {_rel(np.sum(hessian['value']), peer['hessian_sum']):.1e}")
    ours = json.loads(results["tanh network grad"]["outputs"][0])["gradients"]
    peer = json.loads(results["jax: tanh network grad"]["outputs"][0])
    worst = max(_rel(ours["W1"]["value"], peer["W1"]), _rel(ours["W2"]["value"], peer["W2"]))
    print(f"  tanh network W1, W2   {worst:.1e}")
    grad, second = (
        json.loads(o)["gradients"]["x0"]["value"] for o in results["chain-200 grad + order 2"]["outputs"]
    )
    peer = json.loads(results["jax: chain-200 grad + order 2"]["outputs"][0])
    print(f"  chain-200 grad, order 2 {max(_rel(grad, peer['grad']), _rel(second, peer['second'])):.1e}")
    for job, key in (("logistic 2000x1000 hessian", "value"), ("rosenbrock 10^6 hessian --vector", "x")):
        ours = json.loads(results[job]["outputs"][0])
        ours = ours["value"] if key == "value" else ours["products"]["x"]["value"]
        peer = json.loads(results[f"jax: {job}"]["outputs"][0])[key]
        scaled = np.max(np.abs(np.subtract(ours, peer))) / np.max(np.abs(peer))
        print(f"  {job[:22]:22} {scaled:.1e} (of the largest entry)")
    for job in ("mlp 784-128-10 b256 grad (.npy)", "mlp 784-1024-10 b512 grad (.npy)"):
        ours = json.loads(results[job]["outputs"][0])["gradients"]
        peer = json.loads(results[f"jax: {job}"]["outputs"][0])
        worst = max(_rel(ours[n]["value"], peer[n]) for n in ("W1", "b1", "W2"))
        print(f"  {job[:15]} W1, b1, W2 {worst:.1e}")


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def growth(quick: bool) -> None:
    """Cost against program size: whole gradcli grad processes (median of 3), less a trivial run's."""
    work = Path(tempfile.mkdtemp(prefix="gradcli-growth-"))
    (work / "trivial.txt").write_text(SEED3)
    base = statistics.median(
        measure([*GRADCLI, "grad", str(work / "trivial.txt"), "--format", "json"])[0] for _ in range(3)
    )
    print(f"\ngrowth (gradcli grad, whole process, median of 3, less {base:.3f} s for a trivial program):")
    for label, sizes, make in [
        ("rosenbrock n", [100, 300, 1000] if quick else [100, 300, 1000, 3000], lambda n: rosenbrock(n)[0]),
        ("chain depth", [50, 100, 200] if quick else [50, 100, 200, 400, 800], chain),
    ]:
        for size in sizes:
            path = work / f"{label.split()[0]}-{size}.txt"
            path.write_text(make(size))
            seconds = statistics.median(
                measure([*GRADCLI, "grad", str(path), "--format", "json"])[0] for _ in range(3)
            )
            print(
                f"  {label:13} {size:5d}: {seconds:7.3f} s   less start-up {seconds - base:7.3f} s   "
                f"per unit {(seconds - base) / size * 1e3:7.3f} ms"
            )
    shutil.rmtree(work, ignore_errors=True)


def whole_array_growth(quick: bool) -> None:
    """Whole-array gradients against the number of parameters: 784-H-10 tanh networks, batch 256."""
    work = Path(tempfile.mkdtemp(prefix="gradcli-mlp-growth-"))
    print("\nwhole-array growth (gradcli grad --format json, 784-H-10, batch 256, one run; peak memory):")
    for hidden in [128, 1024, 4096] if quick else [128, 1024, 4096, 12800]:
        text, at = mlp(work, 784, hidden, 10, 256)
        (work / "mlp.txt").write_text(text)
        seconds, memory, _ = measure([*GRADCLI, "grad", str(work / "mlp.txt"), *at, "--format", "json"])
        parameters = 784 * hidden + hidden + hidden * 10
        print(f"  {parameters:10,d} parameters: {seconds:7.2f} s  {memory:7.0f} MiB")
    shutil.rmtree(work, ignore_errors=True)


def sympy_baseline() -> None:
    """Plain SymPy: differentiate the inlined Rosenbrock expression once per variable, in-process."""
    import sympy as sp

    print("\nplain SymPy baseline (inlined expression, sympy.diff per variable; in-process):")
    for n in (30, 100):
        xs = sp.symbols(f"x0:{n}", real=True)
        f = sum(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(n - 1))
        start = time.perf_counter()
        [sp.diff(f, x) for x in xs]
        print(f"  rosenbrock n = {n:4d}: gradient {time.perf_counter() - start:.3f} s")


if __name__ == "__main__":
    sys.exit(main())
