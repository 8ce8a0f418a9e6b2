"""gkeras against its peers on the same workloads: train / predict throughput, RSS, warm-up.

Frameworks: gkeras (NumPy backend, or CuPy with `--backend cupy`), a hand-written NumPy
training loop (the floor for framework overhead), and, when installed, PyTorch (eager
`nn.Module` and a plain loop) and Keras 3 on JAX. Every measurement runs in its own
subprocess (`peers/child.py`), so peak RSS is per framework and imports cannot interfere;
frameworks alternate within each repetition (A B C D, then B C D A, ...), and the table shows
medians and the median of the per-repetition ratios gkeras / peer.

Threads are pinned equally: each child is restricted to `--threads` CPUs and the BLAS /
OpenMP / XLA pools are sized to match.

Usage:
    python benchmarks/bench_peers.py [--workloads W1,W2,...] [--reps 3] [--threads 2]
        [--peers numpy,torch,keras-jax] [--peer-python /path/to/python] [--backend numpy]
        [--quick] [--json benchmarks/results/peers-<date>.json]

PyTorch and Keras may live in another environment (so they do not disturb this one): pass
its interpreter with `--peer-python` or `GKERAS_PEER_PYTHON`. A peer that cannot be imported
is skipped with a note. `--backend cupy` and `--peers torch-cuda` need a GPU and exit with a
clear message without one.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "peers"))

from workloads import WORKLOADS, predict_flops, train_step_flops  # noqa: E402

PEERS = ("numpy", "torch", "keras-jax", "torch-cuda")
PROBES = {
    "gkeras": "import gkeras",
    "numpy": "import numpy",
    "torch": "import torch",
    "keras-jax": "import jax, keras; assert keras.backend.backend() == 'jax'",
    "torch-cuda": "import torch; assert torch.cuda.is_available(), 'no CUDA device'",
}


def child_env(framework, threads, backend):
    env = dict(os.environ)
    n = str(threads)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
        env[var] = n
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(HERE / "peers")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    if framework == "keras-jax":
        env["KERAS_BACKEND"] = "jax"
        env["JAX_PLATFORMS"] = "cpu"
        env["XLA_FLAGS"] = (f"--xla_cpu_multi_thread_eigen=true "
                            f"intra_op_parallelism_threads={threads}")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if framework == "gkeras":
        env["GKERAS_BACKEND"] = backend
    return env


def interpreter_for(framework, candidates, threads, backend):
    """The first interpreter that imports `framework`, or `(None, reason)`."""
    reason = "not importable"
    for python in candidates:
        proc = subprocess.run([python, "-c", PROBES[framework]], capture_output=True, text=True,
                              env=child_env(framework, threads, backend), timeout=300)
        if proc.returncode == 0:
            return python, None
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        reason = f"{python}: {last}"
    return None, reason


def check_gkeras_backend(backend, python, threads):
    """Exits with a clear message when `--backend cupy` cannot run here."""
    if backend == "numpy":
        return
    code = f"from gkeras import backend; backend.set_backend({backend!r})"
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True,
                          env=child_env("gkeras", threads, backend), timeout=600)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        sys.exit(f"bench_peers: --backend {backend} cannot run here: {last}")


def run_child(python, framework, workload, args):
    cmd = [python, str(HERE / "peers" / "child.py"), "--framework", framework,
           "--workload", workload, "--threads", str(args.threads), "--seed", str(args.seed)]
    if args.quick:
        wl = WORKLOADS[workload]
        cmd += ["--samples", str(min(wl.samples, QUICK_SAMPLES[workload])), "--epochs", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                          env=child_env(framework, args.threads, args.backend))
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        return {"framework": framework, "workload": workload, "error": tail}
    return json.loads(proc.stdout.strip().splitlines()[-1])


QUICK_SAMPLES = {"W1": 1000, "W2": 6400, "W3": 512, "W4": 256, "W5": 1000}


def gemm_rate(python, threads, size=1024):
    """This machine's float32 NumPy GEMM rate (FLOP/s, best of several) with `threads`."""
    code = (
        "import time, numpy as np\n"
        f"n = {size}\n"
        "a = np.random.rand(n, n).astype('f4'); b = np.random.rand(n, n).astype('f4')\n"
        "a @ b\n"
        "best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter())"
        " for _ in range(20))\n"
        "print(2 * n ** 3 / best)\n"
    )
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True,
                          env=child_env("numpy", threads, "numpy"), timeout=600)
    return float(proc.stdout.strip())


def machine_info(threads):
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cpu_count": os.cpu_count(), "threads": threads,
            "loadavg_start": os.getloadavg()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        info["memory_gib"] = round(int(mem) / 2**20, 1)
    except OSError:
        pass
    return info


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(runs, frameworks, workloads):
    """Per workload and framework: medians, and the median per-repetition ratio to gkeras."""
    table = {}
    for key in workloads:
        rows = {}
        for fw in frameworks:
            ok = [r for r in runs if r["workload"] == key and r["framework"] == fw
                  and "error" not in r]
            if not ok:
                errors = [r["error"] for r in runs if r["workload"] == key
                          and r["framework"] == fw and "error" in r]
                rows[fw] = {"error": errors[0] if errors else "no run"}
                continue
            rows[fw] = {
                "train_samples_per_s": median([r["train_samples_per_s"] for r in ok]),
                "predict_samples_per_s": median([r["predict_samples_per_s"] for r in ok]),
                "train_cpu_samples_per_s": median([r.get("train_cpu_samples_per_s")
                                                   for r in ok]),
                "peak_rss_mb": median([r["peak_rss_mb"] for r in ok]),
                "warmup_s": median([r["warmup_s"] for r in ok]),
                "rss_growth_mb": median([r["rss_after_epoch_mb"][-1] - r["rss_after_epoch_mb"][0]
                                         for r in ok if r["rss_after_epoch_mb"]]),
                "final_loss": median([r["final_loss"] for r in ok]),
                "runs": len(ok),
            }
        gk = {r["rep"]: r for r in runs if r["workload"] == key and r["framework"] == "gkeras"
              and "error" not in r}
        for fw in frameworks:
            if fw == "gkeras" or "error" in rows[fw]:
                continue
            pairs = [(gk[r["rep"]], r) for r in runs if r["workload"] == key
                     and r["framework"] == fw and "error" not in r and r["rep"] in gk]
            for metric in ("train_samples_per_s", "predict_samples_per_s",
                           "train_cpu_samples_per_s", "peak_rss_mb"):
                ratios = [a[metric] / b[metric] for a, b in pairs
                          if a.get(metric) and b.get(metric)]
                rows[fw][f"gkeras_over_peer_{metric}"] = median(ratios)
        table[key] = rows
    return table


def fmt(value, digits=0):
    if value is None:
        return "-"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def print_table(table, frameworks, rate, workloads, out=sys.stdout):
    print(f"\nNumPy float32 GEMM rate: {rate / 1e9:.1f} GFLOP/s", file=out)
    header = ("| workload | framework | train samples/s | train samples per CPU-s | "
              "predict samples/s | peak RSS MB | warm-up s | gkeras/peer train | "
              "gkeras/peer predict | gkeras/peer RSS |")
    print(header, file=out)
    print("|" + "---|" * 10, file=out)
    for key in workloads:
        rows = table[key]
        for fw in frameworks:
            r = rows[fw]
            if "error" in r:
                print(f"| {key} | {fw} | skipped: {r['error'].splitlines()[-1][:80]} "
                      "| | | | | | | |", file=out)
                continue
            print(f"| {key} | {fw} | {fmt(r['train_samples_per_s'])} | "
                  f"{fmt(r['train_cpu_samples_per_s'])} | {fmt(r['predict_samples_per_s'])} | "
                  f"{fmt(r['peak_rss_mb'])} | {fmt(r['warmup_s'], 2)} | "
                  f"{fmt(r.get('gkeras_over_peer_train_samples_per_s'), 2)} | "
                  f"{fmt(r.get('gkeras_over_peer_predict_samples_per_s'), 2)} | "
                  f"{fmt(r.get('gkeras_over_peer_peak_rss_mb'), 2)} |", file=out)
        wl = WORKLOADS[key]
        if wl.kind.startswith("conv") and "error" not in rows.get("gkeras", {"error": 1}):
            floor = wl.batch_size / (train_step_flops(wl) / rate)
            got = rows["gkeras"]["train_samples_per_s"]
            pfloor = wl.batch_size / (predict_flops(wl) / rate)
            print(f"| {key} | GEMM floor | {fmt(floor)} | | {fmt(pfloor)} | | | "
                  f"gkeras time / floor: {floor / got:.2f} | | |", file=out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--peers", default="numpy,torch,keras-jax",
                        help=f"comma-separated, from {', '.join(PEERS)}")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", default="numpy", choices=("numpy", "cupy"))
    parser.add_argument("--peer-python", default=os.environ.get("GKERAS_PEER_PYTHON"),
                        help="an interpreter with the peers installed (tried after this one)")
    parser.add_argument("--quick", action="store_true", help="fewer samples, one epoch")
    parser.add_argument("--timeout", type=int, default=1800)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        sys.exit(f"bench_peers: unknown workload(s) {unknown}; expected some of "
                 f"{list(WORKLOADS)}.")
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    bad = [p for p in peers if p not in PEERS]
    if bad:
        sys.exit(f"bench_peers: unknown peer(s) {bad}; expected some of {list(PEERS)}.")
    candidates = [sys.executable] + ([args.peer_python] if args.peer_python else [])

    check_gkeras_backend(args.backend, sys.executable, args.threads)
    interpreters, notes = {"gkeras": sys.executable}, []
    for peer in peers:
        python, reason = interpreter_for(peer, candidates, args.threads, args.backend)
        if python is None:
            if peer == "torch-cuda":
                sys.exit(f"bench_peers: --peers torch-cuda cannot run here: {reason}")
            notes.append(f"{peer} skipped ({reason})")
            print(f"note: {peer} skipped ({reason})", file=sys.stderr)
        else:
            interpreters[peer] = python
    frameworks = ["gkeras"] + [p for p in peers if p in interpreters]

    info = machine_info(args.threads)
    rate = gemm_rate(sys.executable, args.threads)
    runs = []
    started = time.time()
    for key in workloads:
        for rep in range(args.reps):
            order = frameworks[rep % len(frameworks):] + frameworks[:rep % len(frameworks)]
            for fw in order:
                result = run_child(interpreters[fw], fw, key, args)
                result["rep"] = rep
                runs.append(result)
                shown = ("error: " + result["error"].splitlines()[-1] if "error" in result
                         else f"train {result['train_samples_per_s']:,.0f}/s, predict "
                              f"{result['predict_samples_per_s']:,.0f}/s, "
                              f"RSS {result['peak_rss_mb']:.0f} MB")
                print(f"[{time.time() - started:6.0f}s] {key} rep {rep} {fw}: {shown}",
                      file=sys.stderr, flush=True)
    info["loadavg_end"] = os.getloadavg()
    info["duration_s"] = round(time.time() - started)
    table = summarize(runs, frameworks, workloads)
    print_table(table, frameworks, rate, workloads)
    print(f"\nmachine: {info.get('cpu', '?')}, {info['cpu_count']} CPUs, threads pinned to "
          f"{args.threads}; load average at start {info['loadavg_start'][0]:.1f}, at end "
          f"{info['loadavg_end'][0]:.1f}; {info['duration_s']} s")
    for note in notes:
        print(f"note: {note}")
    versions = {r["framework"]: r.get("versions") for r in runs if "versions" in r}
    out = {"machine": info, "args": vars(args), "gemm_flops_per_s": rate, "notes": notes,
           "versions": versions, "workloads": {k: WORKLOADS[k].__dict__ for k in workloads},
           "table": table, "runs": runs}
    path = args.json or str(HERE / "results" / time.strftime("peers-%Y%m%d-%H%M%S.json"))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(out, indent=1, default=str))
    print(f"raw results: {path}")


if __name__ == "__main__":
    main()
