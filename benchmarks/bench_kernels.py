"""Benchmarks of the raw CUDA kernels against the code they replace.

Rows (forward + backward of each op, median of CUDA-event timings after warm-up):

- dense: the fused epilogues around cuBLAS, against the unfused CuPy sequence (the NumPy
  reference code on CuPy arrays, i.e. `GKERAS_KERNELS=never`) and against the cuBLAS GEMMs
  alone (x W, x^T gz, gz W^T): the floor any epilogue fusion can approach.
- conv2d: im2col/col2im + cuBLAS against the generic CuPy path and, when PyTorch is importable,
  cuDNN (channels-last `torch.nn.functional.conv2d` and its autograd backward).
- softmax cross-entropy: fused forward + backward against the generic path, with the effective
  bandwidth (logits read, probabilities written, probabilities read, gradients written).

Usage: `python benchmarks/bench_kernels.py [--reps 50] [--json results.json] [--quick]`.
Without a usable GPU it prints why and exits with status 0.
"""

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # gkeras from a source checkout


def _gpu_or_reason():
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None, "no CUDA device is visible"
        from gkeras import backend

        return backend.set_backend("cupy"), None
    except Exception as exc:  # CuPy missing, no driver, no device: all mean "nothing to time"
        return None, f"{type(exc).__name__}: {exc}"


def time_ms(cupy, fn, warmup, reps):
    """Median milliseconds of `fn` over `reps` runs, timed with CUDA events after warm-up."""
    for _ in range(warmup):
        fn()
    cupy.cuda.Device().synchronize()
    times = []
    for _ in range(reps):
        start, end = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, end))
    return float(np.median(times))


def _dense_row(bk, generic, cupy, args, n, i, u, activation):
    x = cupy.random.standard_normal((n, i), dtype=cupy.float32)
    W = cupy.random.standard_normal((i, u), dtype=cupy.float32) * (1 / i**0.5)
    b = cupy.random.standard_normal(u, dtype=cupy.float32)
    gy = cupy.random.standard_normal((n, u), dtype=cupy.float32)

    def step(impl):
        y, z = impl.dense(x, W, b, activation)
        impl.dense_backward(gy, x, W, y, z, activation)

    def gemms():  # the GEMMs alone: z = x W, gW = x^T gz, gx = gz W^T
        return x @ W, x.T @ gy, gy @ W.T

    fused = time_ms(cupy, lambda: step(bk), args.warmup, args.reps)
    plain = time_ms(cupy, lambda: step(generic), args.warmup, args.reps)
    return {"op": "dense fwd+bwd", "shape": f"{n}x{i}x{u} {activation}", "kernels_ms": fused,
            "unfused_cupy_ms": plain, "speedup_vs_unfused": plain / fused,
            "gemm_only_ms": time_ms(cupy, gemms, args.warmup, args.reps)}


def bench_dense(bk, generic, cupy, args, rows):
    shapes = [(4096, 1024, 1024), (8192, 512, 2048), (512, 4096, 4096)]
    for n, i, u in shapes[:1] if args.quick else shapes:
        for activation in ("relu", "gelu"):
            rows.append(_dense_row(bk, generic, cupy, args, n, i, u, activation))


def _cudnn_ms(torch, cupy, args, x_shape, w_shape, strides):
    tx = torch.randn(x_shape[0], x_shape[3], *x_shape[1:3], device="cuda")
    tx = tx.to(memory_format=torch.channels_last).requires_grad_()
    tw = torch.randn(w_shape[3], w_shape[2], *w_shape[:2], device="cuda", requires_grad=True)
    pad = w_shape[0] // 2  # odd kernels: the same output size as our 'same'
    tgy = torch.randn_like(torch.nn.functional.conv2d(tx, tw, stride=strides, padding=pad))

    def step():
        out = torch.nn.functional.conv2d(tx, tw, stride=strides, padding=pad)
        torch.autograd.grad(out, (tx, tw), tgy)

    return time_ms(cupy, step, args.warmup, args.reps)


def _conv_row(bk, generic, cupy, args, x_shape, w_shape, strides, torch):
    x = cupy.random.standard_normal(x_shape, dtype=cupy.float32)
    W = cupy.random.standard_normal(w_shape, dtype=cupy.float32)
    gy = cupy.random.standard_normal(bk.conv2d(x, W, None, strides, "same").shape,
                                     dtype=cupy.float32)

    def step(impl):
        impl.conv2d(x, W, None, strides, "same")
        impl.conv2d_backward_input(gy, W, x.shape, strides, "same")
        impl.conv2d_backward_filter(x, gy, W.shape, strides, "same")

    row = {"op": "conv2d fwd+bwd", "shape": f"x{x_shape} k{w_shape} s{strides}",
           "kernels_ms": time_ms(cupy, lambda: step(bk), args.warmup, args.reps),
           "unfused_cupy_ms": time_ms(cupy, lambda: step(generic), args.warmup, args.reps)}
    row["speedup_vs_unfused"] = row["unfused_cupy_ms"] / row["kernels_ms"]
    if torch is not None and torch.cuda.is_available():
        row["cudnn_ms"] = _cudnn_ms(torch, cupy, args, x_shape, w_shape, strides)
    return row


def bench_conv(bk, generic, cupy, args, rows):
    cases = [((32, 56, 56, 64), (3, 3, 64, 64), (1, 1)),
             ((64, 28, 28, 128), (3, 3, 128, 128), (1, 1)),
             ((64, 32, 32, 3), (5, 5, 3, 32), (2, 2))]
    try:
        import torch
    except ImportError:
        torch = None
    for x_shape, w_shape, strides in cases[:1] if args.quick else cases:
        rows.append(_conv_row(bk, generic, cupy, args, x_shape, w_shape, strides, torch))


def _softmax_row(bk, generic, cupy, args, n, c):
    logits = cupy.random.standard_normal((n, c), dtype=cupy.float32)
    labels = cupy.random.randint(0, c, n)
    g = cupy.full(n, 1.0 / n, dtype=cupy.float32)

    def step(impl):
        _, probs = impl.softmax_crossentropy(logits, labels)
        impl.softmax_crossentropy_backward(probs, labels, g)

    fused = time_ms(cupy, lambda: step(bk), args.warmup, args.reps)
    plain = time_ms(cupy, lambda: step(generic), args.warmup, args.reps)
    moved = 4 * n * c * 4  # logits in, probs out, probs in, gradients out (float32)
    return {"op": "softmax-CE fwd+bwd", "shape": f"{n}x{c}", "kernels_ms": fused,
            "unfused_cupy_ms": plain, "speedup_vs_unfused": plain / fused,
            "kernels_GBps": moved / fused / 1e6}


def bench_softmax(bk, generic, cupy, args, rows):
    shapes = [(65536, 10), (8192, 1000), (1024, 32768), (256, 131072)]
    for n, c in shapes[:2] if args.quick else shapes:
        rows.append(_softmax_row(bk, generic, cupy, args, n, c))


def print_table(rows):
    columns = ["op", "shape", "kernels_ms", "unfused_cupy_ms", "gemm_only_ms", "cudnn_ms",
               "speedup_vs_unfused", "kernels_GBps"]
    columns = [c for c in columns if any(c in r for r in rows)]

    def cell(value):
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    widths = [max(len(c), *(len(cell(r.get(c, ""))) for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for r in rows:
        print("  ".join(cell(r.get(c, "")).ljust(w) for c, w in zip(columns, widths)))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Benchmark the gkeras CUDA kernels.")
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one shape per op")
    parser.add_argument("--json", default="bench_kernels.json", help="where to write results")
    args = parser.parse_args(argv)
    bk, reason = _gpu_or_reason()
    if bk is None:
        print(f"bench_kernels: no usable GPU here ({reason}); nothing to benchmark.")
        return 0
    import cupy

    from gkeras.backend import kernels
    from gkeras.backend.numpy_backend import NumpyBackend

    os.environ.pop("GKERAS_KERNELS", None)

    class Generic:
        """The CuPy backend's own generic path: NumpyBackend's code on CuPy arrays."""

        def __getattr__(self, name):
            return getattr(NumpyBackend, name).__get__(bk)

    rows = []
    bench_dense(bk, Generic(), cupy, args, rows)
    bench_conv(bk, Generic(), cupy, args, rows)
    bench_softmax(bk, Generic(), cupy, args, rows)
    print(f"device: {bk.device_name()}  cupy {cupy.__version__}  median of {args.reps} runs")
    print_table(rows)
    report = {"device": bk.device_name(), "cupy": cupy.__version__,
              "python": platform.python_version(), "reps": args.reps,
              "kernel_status": kernels.status(), "rows": rows}
    Path(args.json).write_text(json.dumps(report, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
