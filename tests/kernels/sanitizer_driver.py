"""Runs every raw kernel at small shapes and checks each result against the NumPy backend.

On a GPU machine, under NVIDIA's compute-sanitizer (from the repository root):

    compute-sanitizer --tool memcheck  --error-exitcode 9 python tests/kernels/sanitizer_driver.py
    compute-sanitizer --tool racecheck --error-exitcode 9 python tests/kernels/sanitizer_driver.py
    compute-sanitizer --tool synccheck --error-exitcode 9 python tests/kernels/sanitizer_driver.py
    compute-sanitizer --tool initcheck --error-exitcode 9 python tests/kernels/sanitizer_driver.py

On the CPU, through the emulator built from the same sources (test_kernel_sanitizers.py runs it
this way under AddressSanitizer and ThreadSanitizer):

    python tests/kernels/sanitizer_driver.py --emulator /path/libgkeras_emu.so --schedule threads

Small grid caps make every grid-stride loop and conv2d chunk loop turn more than once. Exits 0
when every case matched, 1 otherwise.
"""

import argparse
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]  # parity.py, and gkeras from a checkout

import numpy as np  # noqa: E402
from parity import check_conv2d, check_dense, check_softmax_crossentropy  # noqa: E402

F32, F64 = np.float32, np.float64
CASES = [
    ("dense relu float32 (37, 13, 70)", lambda o, r, xp: check_dense(o, r, (37, 13, 70), "relu",
                                                                     F32, xp=xp)),
    ("dense gelu float64 (64, 9, 130)", lambda o, r, xp: check_dense(o, r, (64, 9, 130), "gelu",
                                                                     F64, xp=xp)),
    ("dense elu float32 (5, 3, 1) no bias", lambda o, r, xp: check_dense(
        o, r, (5, 3, 1), "elu", F32, has_bias=False, xp=xp)),
    ("softmax-ce int64 float32 (29, 7)", lambda o, r, xp: check_softmax_crossentropy(
        o, r, (29, 7), "int64", F32, xp=xp)),
    ("softmax-ce int32 float64 (9, 300)", lambda o, r, xp: check_softmax_crossentropy(
        o, r, (9, 300), "int32", F64, xp=xp)),
    ("softmax-ce probs float32 (9, 1000)", lambda o, r, xp: check_softmax_crossentropy(
        o, r, (9, 1000), "probs", F32, xp=xp)),
    ("softmax-ce onehot float64 (3, 33000)", lambda o, r, xp: check_softmax_crossentropy(
        o, r, (3, 33000), "onehot", F64, xp=xp)),
    ("conv2d 3x2 same strided dilated float32", lambda o, r, xp: check_conv2d(
        o, r, ((3, 10, 11, 4), (3, 2, 4, 6), (2, 3), "same", (1, 2)), F32, xp=xp)),
    ("conv2d 5x5 same stride 2 float64", lambda o, r, xp: check_conv2d(
        o, r, ((2, 7, 7, 5), (5, 5, 5, 2), (2, 2), "same", (1, 1)), F64, xp=xp)),
    ("conv2d valid dilated float32", lambda o, r, xp: check_conv2d(
        o, r, ((1, 13, 6, 2), (2, 3, 2, 3), (3, 1), "valid", (2, 2)), F32, xp=xp)),
]


def _ops(args):
    from gkeras.backend import kernels

    options = dict(max_blocks=args.max_blocks, workspace_elements=args.workspace,
                   max_threads=args.max_threads)
    if args.emulator:
        import emulator

        emu = emulator.Emulator(args.emulator)
        emu.set_schedule(args.schedule)
        return emu.ops(**options), np, None
    import cupy

    return kernels.KernelOps(cupy, kernels.run_on_gpu, **options), cupy, cupy


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulator", help="run in the CPU emulator library at this path")
    parser.add_argument("--schedule", default="threads", help="emulator schedule")
    parser.add_argument("--max-blocks", type=int, default=3)
    parser.add_argument("--max-threads", type=int, default=128)
    parser.add_argument("--workspace", type=int, default=500, help="conv2d workspace elements")
    args = parser.parse_args(argv)
    ops, xp, cupy = _ops(args)
    failures = []
    for label, case in CASES:
        try:
            case(ops, np.random.default_rng(0), xp)
            if cupy is not None:
                cupy.cuda.runtime.deviceSynchronize()
        except Exception:
            failures.append(label)
            print(f"MISMATCH {label}\n{traceback.format_exc()}", file=sys.stderr)
    print(f"sanitizer driver: {len(CASES) - len(failures)} of {len(CASES)} cases matched"
          + (f"; mismatched: {', '.join(failures)}" if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
