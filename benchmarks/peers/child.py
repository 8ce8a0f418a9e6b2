"""One measurement in its own process: one framework, one workload, one JSON line out.

Run by `benchmarks/bench_peers.py`, never imported. A fresh process per measurement keeps
peak RSS per framework and stops imports (thread pools, allocators) from interfering.

Protocol: import the framework (timed), build the model and fit + predict on a warm-up
slice (timed: the warm-up), then fit the timed epochs (RSS read after each one) and predict
over the whole data set (the median of several passes).
"""

import argparse
import json
import os
import resource
import sys
import time

START = time.perf_counter()
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.dirname(os.path.dirname(HERE)))  # gkeras from the source tree


def current_rss_mb():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def pin_threads(threads):
    """Restricts this process to `threads` CPUs (the BLAS pools were sized by the env)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > threads:
        os.sched_setaffinity(0, cpus[:threads])


def make_runner(framework, workload, seed, threads):
    if framework == "gkeras":
        from run_keras import gkeras_runner

        return gkeras_runner(workload, seed)
    if framework == "keras-jax":
        from run_keras import keras_runner

        return keras_runner(workload, seed)
    if framework in ("torch", "torch-cuda"):
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)
        from run_torch import Runner

        return Runner(workload, seed, device="cuda" if framework == "torch-cuda" else "cpu")
    if framework == "numpy":
        from run_numpy import Runner

        return Runner(workload, seed)
    raise SystemExit(f"unknown framework {framework!r}")


def versions(framework):
    import numpy

    out = {"python": sys.version.split()[0], "numpy": numpy.__version__}
    for name in {"gkeras": ["gkeras"], "keras-jax": ["keras", "jax", "jaxlib"],
                 "torch": ["torch"], "torch-cuda": ["torch"]}.get(framework, []):
        module = sys.modules.get(name)
        if module is not None:
            out[name] = getattr(module, "__version__", "?")
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--framework", required=True)
    parser.add_argument("--workload", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    pin_threads(args.threads)

    import dataclasses

    from workloads import WORKLOADS, make_data, take, warmup_slice

    workload = WORKLOADS[args.workload]
    changes = {k: v for k, v in (("samples", args.samples), ("epochs", args.epochs)) if v}
    workload = dataclasses.replace(workload, **changes)
    x, y = make_data(workload, seed=args.seed)

    t0 = time.perf_counter()
    runner = make_runner(args.framework, workload, args.seed, args.threads)
    built = time.perf_counter()
    w = warmup_slice(workload)
    runner.fit(take(x, w), take(y, w), epochs=1)
    runner.predict(take(x, w))
    sync = getattr(runner, "synchronize", lambda: None)
    sync()
    warmup = time.perf_counter() - t0

    rss = []
    t, cpu = time.perf_counter(), time.process_time()
    loss = runner.fit(x, y, epochs=workload.epochs, on_epoch_end=lambda e: rss.append(
        round(current_rss_mb(), 1)))
    sync()
    train_s = time.perf_counter() - t
    train_cpu_s = time.process_time() - cpu  # all threads: the CPU work, not the wall time
    # a prediction pass over a small data set takes milliseconds: repeat it for at least
    # half a second (3 to 50 passes) and keep the median pass
    passes = []
    while len(passes) < 3 or (sum(passes) < 0.5 and len(passes) < 50):
        t = time.perf_counter()
        runner.predict(x)
        sync()
        passes.append(time.perf_counter() - t)
    predict_s = sorted(passes)[len(passes) // 2]

    n = workload.samples
    print(json.dumps({
        "framework": args.framework, "name": runner.name, "workload": workload.key,
        "samples": n, "epochs": workload.epochs, "batch_size": workload.batch_size,
        "train_samples_per_s": n * workload.epochs / train_s,
        "predict_samples_per_s": n / predict_s,
        "train_cpu_samples_per_s": n * workload.epochs / train_cpu_s,
        "train_s": train_s, "train_cpu_s": train_cpu_s, "predict_s": predict_s,
        "warmup_s": warmup, "build_s": built - t0, "import_and_data_s": t0 - START,
        "peak_rss_mb": round(peak_rss_mb(), 1), "rss_after_epoch_mb": rss,
        "final_loss": loss, "versions": versions(args.framework),
    }))


if __name__ == "__main__":
    main()
