"""The raw CUDA kernels: finding their sources, compiling them once, launching them.

`kernels/*.cu` hold the kernels (dense epilogues, conv2d im2col/col2im, softmax
cross-entropy). This module is the only reader of those files. It never imports CuPy at import
time: `kernel_source_path`, the launch arithmetic (`KernelOps`) and `status()` work on any
machine, and the tests drive `KernelOps` with NumPy arrays and a CPU emulator of the kernels.

`GKERAS_KERNELS=never` turns the kernels off (the CuPy backend then runs the NumPy-reference
code on the GPU), for A/B checks.
"""

import importlib.resources
import itertools
import os
import re
import threading
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import numpy as np

from gkeras.backend.numpy_backend import DENSE_ACTIVATIONS, NumpyBackend

KERNEL_FILES = ("dense.cu", "conv2d.cu", "softmax_crossentropy.cu")
MAX_THREADS = 256  # threads per block the launchers use at most
_INT_LIMIT = 2**31 - 1  # the kernels index one tensor (or one chunk of one) with ints
_C_TYPES = {"float32": "float", "float64": "double", "int32": "int", "int64": "long long"}


def _instantiate(kernel, *type_lists):
    return [f"{kernel}<{', '.join(types)}>" for types in itertools.product(*type_lists)]


_REALS = ("float", "double")
_IDS = ("int", "long long")
# Every template instantiation, as the name expressions NVRTC resolves (float and double each).
NAME_EXPRESSIONS = {
    "dense.cu": _instantiate("dense_bias_act_fwd", _REALS) + _instantiate("dense_act_bwd", _REALS),
    "conv2d.cu": _instantiate("conv2d_im2col", _REALS) + _instantiate("conv2d_col2im", _REALS),
    "softmax_crossentropy.cu": (
        _instantiate("softmax_ce_fwd_sparse", _REALS, _IDS)
        + _instantiate("softmax_ce_fwd_dense", _REALS)
        + _instantiate("softmax_ce_bwd_sparse", _REALS, _IDS)
        + _instantiate("softmax_ce_bwd_dense", _REALS)
    ),
}


def kernel_source_path(name):
    """The path of one kernel source file.

    An installed wheel ships the sources as `gkeras/kernels/` (pyproject force-includes the
    repository's `kernels/` there); a source checkout or editable install reads the top-level
    `kernels/` folder beside the package.

    Args:
        name: a file name from `KERNEL_FILES`, e.g. `"dense.cu"`.

    Returns:
        A `pathlib.Path` to the file.
    """
    if name not in KERNEL_FILES:
        raise ValueError(f"Unknown kernel file {name!r}. Expected one of {list(KERNEL_FILES)}.")
    shipped = importlib.resources.files("gkeras") / "kernels" / name
    if shipped.is_file():
        return Path(str(shipped))
    checkout = Path(__file__).resolve().parents[2] / "kernels" / name
    if checkout.is_file():
        return checkout
    raise FileNotFoundError(
        f"CUDA kernel source {name} not found: looked for {shipped} (installed wheel) and "
        f"{checkout} (source checkout)."
    )


def kernels_mode():
    """`"auto"` (use a kernel whenever the inputs qualify) or `"never"`, from `GKERAS_KERNELS`."""
    mode = os.environ.get("GKERAS_KERNELS", "auto").strip().lower() or "auto"
    if mode not in ("auto", "never"):
        raise ValueError(f"GKERAS_KERNELS={mode!r} is not valid. Expected one of 'auto', 'never'.")
    return mode


def enabled():
    """True unless `GKERAS_KERNELS=never`."""
    return kernels_mode() == "auto"


# --------------------------------------------------------------------------- compiling
class KernelCompileError(RuntimeError):
    """A kernel file failed to compile; the message names the file and line."""


_ERROR_LINE = re.compile(r"(?P<file>[^\s\"()]+\.cu)\((?P<line>\d+)\): (?:catastrophic )?error:"
                         r"\s*(?P<message>.*)")


def describe_compile_failure(filename, path, log):
    """One clear message from an NVRTC log: file, line and first error, then the whole log."""
    match = _ERROR_LINE.search(log)
    if match:
        where = f"{match['file']}:{match['line']}: {match['message'].strip()}"
    else:
        where = f"{path}: {log.strip().splitlines()[0] if log.strip() else 'no compiler log'}"
    return f"CUDA kernel file {filename} failed to compile at {where}\n{log}"


class _Module:
    """One lazily compiled `cupy.RawModule` per .cu file, compiled at most once per process."""

    def __init__(self, filename):
        self.filename = filename
        self._module = None
        self._error = None
        self._lock = threading.Lock()

    @property
    def compiled(self):
        return self._module is not None

    def compile(self):
        with self._lock:
            if self._module is not None:
                return self._module
            if self._error is not None:
                raise self._error
            import cupy

            path = kernel_source_path(self.filename)
            # #line makes NVRTC report errors against the .cu file and its own line numbers.
            code = f'#line 1 "{path}"\n' + path.read_text()
            try:
                # NVRTC's default dialect; the compile gate also checks C++14
                module = cupy.RawModule(code=code,
                                        name_expressions=NAME_EXPRESSIONS[self.filename])
                for name in NAME_EXPRESSIONS[self.filename]:
                    module.get_function(name)  # the first call compiles the whole file
            except Exception as exc:
                self._error = KernelCompileError(
                    describe_compile_failure(self.filename, path, str(exc)))
                raise self._error from exc
            self._module = module
            return module

    def function(self, name):
        return self.compile().get_function(name)


_MODULES = {name: _Module(name) for name in KERNEL_FILES}
_LAUNCHES = Counter()


def launch_counts():
    """How often each kernel was launched on the GPU in this process (for tests and A/B checks)."""
    return dict(_LAUNCHES)


def status():
    """Whether the CUDA kernels compiled here, per file.

    Compiles them when the CuPy backend is usable (once per process).

    Returns:
        A dict `{file name: "compiled" | "not compiled (reason)" | "failed (reason)"}`.
    """
    try:
        mode = kernels_mode()
    except ValueError as exc:
        return {name: f"not compiled ({exc})" for name in KERNEL_FILES}
    if mode == "never":
        return {name: "not compiled (disabled by GKERAS_KERNELS=never)" for name in KERNEL_FILES}
    from gkeras.backend import cupy_status

    usable, reason = cupy_status()
    if not usable:
        return {name: f"not compiled (no GPU backend: {reason})" for name in KERNEL_FILES}
    result = {}
    for name, module in _MODULES.items():
        try:
            module.compile()
            result[name] = "compiled"
        except Exception as exc:
            result[name] = f"failed ({str(exc).splitlines()[0]})"
    return result


class Launch(NamedTuple):
    """One kernel launch: what a RawKernel call (or the CPU emulator) needs."""

    file: str
    kernel: str  # a name expression from NAME_EXPRESSIONS
    grid: tuple
    block: tuple
    shared_mem: int
    args: tuple  # arrays and typed NumPy scalars, in the kernel's parameter order


def run_on_gpu(launch):
    """Runs a `Launch` through the file's compiled RawModule (CuPy arrays)."""
    kernel = _MODULES[launch.file].function(launch.kernel)
    kernel(launch.grid, launch.block, launch.args, shared_mem=launch.shared_mem)
    _LAUNCHES[launch.kernel] += 1


def gpu_ops():
    """The `KernelOps` of the CuPy backend, sized for the current device."""
    import cupy

    sms = cupy.cuda.Device().attributes["MultiProcessorCount"]
    return KernelOps(cupy, run_on_gpu, max_blocks=32 * sms)


# --------------------------------------------------------------------------- launching
def _ceil_div(a, b):
    return -(-a // b)


def _real_dtype(*arrays):
    """The common float32/float64 dtype of the arrays (None entries skipped), else None."""
    dtypes = {np.dtype(a.dtype) for a in arrays if a is not None}
    if len(dtypes) != 1:
        return None
    dtype = dtypes.pop()
    return dtype if dtype.name in ("float32", "float64") else None


def _contiguous(*arrays):
    return all(a is None or a.flags.c_contiguous for a in arrays)


class KernelOps:
    """The kernel-backed op pairs of the CuPy backend, with the launch arithmetic.

    Written against `xp` (array allocation and the cuBLAS GEMMs through `xp.matmul`) and `run`
    (executes a `Launch`): the CuPy backend passes cupy and `run_on_gpu`, the tests NumPy and a CPU
    emulator. Each method has the signature and return value of its `NumpyBackend` twin, or
    returns None when the inputs do not qualify (dtype other than float32/float64, mixed dtypes,
    unexpected shapes, non-contiguous tensors, empty or too large sizes); the caller then runs the
    generic code. Small per-row vectors (labels, per-sample gradients) are copied to the needed
    dtype and layout instead.

    Args:
        xp: the array module.
        run: a callable taking a `Launch`.
        max_blocks: cap on the blocks of one launch; grid-stride loops cover the rest.
        workspace_elements: cap on the conv2d column buffer (the work is chunked to fit).
        max_threads: threads per block at most (a multiple of 32, <= `MAX_THREADS`).
    """

    def __init__(self, xp, run, max_blocks=4096, workspace_elements=1 << 26,
                 max_threads=MAX_THREADS):
        if max_threads % 32 or not 32 <= max_threads <= MAX_THREADS:
            raise ValueError(f"max_threads must be a multiple of 32 in [32, {MAX_THREADS}], "
                             f"got {max_threads}.")
        self.xp, self.run = xp, run
        self.max_blocks = int(max_blocks)
        self.workspace_elements = int(workspace_elements)
        self.max_threads = int(max_threads)

    def _grid_1d(self, work):
        return max(1, min(_ceil_div(work, self.max_threads), self.max_blocks))

    def _grid_2d(self, columns, rows, tile_rows):
        gx = max(1, min(_ceil_div(columns, 32), self.max_blocks))
        gy = max(1, min(_ceil_div(rows, tile_rows), 65535, self.max_blocks // gx))
        return gx, gy

    # ------------------------------------------------------------------- dense
    def dense(self, x, W, b=None, activation="linear", alpha=0.0):
        dtype = _real_dtype(x, W, b)
        if (dtype is None or activation not in DENSE_ACTIVATIONS or x.ndim != 2 or W.ndim != 2
                or x.shape[1] != W.shape[0] or not _contiguous(b)
                or (b is not None and b.shape != (W.shape[1],))):
            return None
        rows, units = x.shape[0], W.shape[1]
        if rows * units == 0 or max(rows, units) > _INT_LIMIT:
            return None
        z = self.xp.matmul(x, W)  # the GEMM stays on cuBLAS
        if activation == "linear" and b is None:
            return z, None
        keep_z = activation == "gelu"
        y = self.xp.empty_like(z) if keep_z else z
        args = (z, z if b is None else b, y, np.int64(z.size), np.int32(units),
                np.int32(b is not None), np.int32(keep_z),
                np.int32(DENSE_ACTIVATIONS.index(activation)), dtype.type(alpha))
        self.run(Launch("dense.cu", f"dense_bias_act_fwd<{_C_TYPES[dtype.name]}>",
                        (self._grid_1d(z.size), 1, 1), (self.max_threads, 1, 1), 0, args))
        return y, (z if keep_z else None)

    def dense_backward(self, gy, x, W, y, z=None, activation="linear", alpha=0.0,
                       has_bias=True, need_gx=True):
        gelu = activation == "gelu"
        dtype = _real_dtype(gy, x, W, y, z if gelu else None)
        if (dtype is None or activation not in DENSE_ACTIVATIONS or gy.ndim != 2
                or gy.shape != y.shape or (gelu and (z is None or z.shape != gy.shape))
                or not _contiguous(gy, y, z if gelu else None) or gy.size == 0
                or max(gy.shape) > _INT_LIMIT):
            return None
        rows, units = gy.shape
        write_gz = activation != "linear"
        gz = self.xp.empty_like(gy) if write_gz else gy
        gb = self.xp.zeros(units, dtype=dtype) if has_bias else None
        if write_gz or has_bias:
            tile_rows = self.max_threads // 32
            # gz = act'(z) * gy and gb = column sums of gz, one pass over gy
            args = (gy, y, z if gelu else y, gz, gy if gb is None else gb, np.int32(rows),
                    np.int32(units), np.int32(DENSE_ACTIVATIONS.index(activation)),
                    dtype.type(alpha), np.int32(write_gz), np.int32(has_bias))
            self.run(Launch("dense.cu", f"dense_act_bwd<{_C_TYPES[dtype.name]}>",
                            self._grid_2d(units, rows, tile_rows) + (1,), (32, tile_rows, 1),
                            tile_rows * 32 * dtype.itemsize, args))
        gW = self.xp.matmul(x.T, gz)  # gW = x^T gz
        gx = self.xp.matmul(gz, W.T) if need_gx else None  # gx = gz W^T
        return gx, gW, gb

    # ------------------------------------------------------------------ conv2d
    def _conv_plan(self, x_shape, w_shape, strides, padding, dilation):
        """The geometry of one conv2d, or None when the kernels cannot take it."""
        if len(x_shape) != 4 or len(w_shape) != 4 or x_shape[3] != w_shape[2]:
            return None
        n, h, w, c = x_shape
        kh, kw, _, f = w_shape
        try:
            oh, (pt, _) = NumpyBackend.conv2d_geometry(h, kh, strides[0], dilation[0], padding)
            ow, (pl, _) = NumpyBackend.conv2d_geometry(w, kw, strides[1], dilation[1], padding)
        except (ValueError, TypeError):
            return None
        patch = kh * kw * c
        sizes = (n * h * w * c, n * oh * ow * f, oh * ow * patch, patch * f)
        if min(sizes) <= 0 or max(sizes) > _INT_LIMIT:
            return None
        return {"n": n, "h": h, "w": w, "c": c, "kh": kh, "kw": kw, "f": f, "oh": oh, "ow": ow,
                "pt": pt, "pl": pl, "patch": patch, "rows": n * oh * ow,
                "pointwise": kh == kw == 1 and tuple(strides) == (1, 1)}

    def _im2col(self, x, cols, g, strides, dilation, row0, nrows):
        i32 = np.int32
        args = (x, cols, i32(g["h"]), i32(g["w"]), i32(g["c"]), i32(g["kw"]), i32(strides[0]),
                i32(strides[1]), i32(dilation[0]), i32(dilation[1]), i32(g["pt"]), i32(g["pl"]),
                i32(g["oh"]), i32(g["ow"]), i32(row0), i32(nrows), i32(g["patch"]))
        tile_rows = self.max_threads // 32
        self.run(Launch("conv2d.cu", f"conv2d_im2col<{_C_TYPES[x.dtype.name]}>",
                        self._grid_2d(g["patch"], nrows, tile_rows) + (1,), (32, tile_rows, 1),
                        0, args))

    def _row_chunks(self, g):
        chunk = max(1, min(g["rows"], self.workspace_elements // g["patch"]))
        return chunk, [(r0, min(chunk, g["rows"] - r0)) for r0 in range(0, g["rows"], chunk)]

    def conv2d(self, x, W, b=None, strides=(1, 1), padding="valid", dilation=(1, 1)):
        g = self._conv_plan(x.shape, W.shape, strides, padding, dilation)
        dtype = _real_dtype(x, W, b)
        if (g is None or dtype is None or not _contiguous(x, W, b)
                or (b is not None and b.shape != (g["f"],))):
            return None
        xp = self.xp
        w_mat = W.reshape(g["patch"], g["f"])
        y = xp.empty((g["rows"], g["f"]), dtype=dtype)
        if g["pointwise"]:
            xp.matmul(x.reshape(g["rows"], g["c"]), w_mat, out=y)
        else:
            chunk, pieces = self._row_chunks(g)
            cols = xp.empty((chunk, g["patch"]), dtype=dtype)
            for r0, nrows in pieces:
                self._im2col(x, cols[:nrows], g, strides, dilation, r0, nrows)
                xp.matmul(cols[:nrows], w_mat, out=y[r0:r0 + nrows])  # y = cols W
        if b is not None:
            y += b
        return y.reshape(g["n"], g["oh"], g["ow"], g["f"])

    def conv2d_backward_filter(self, x, gy, kernel_shape, strides=(1, 1), padding="valid",
                               dilation=(1, 1)):
        g = self._conv_plan(x.shape, tuple(kernel_shape), strides, padding, dilation)
        dtype = _real_dtype(x, gy)
        if (g is None or dtype is None or not _contiguous(x, gy)
                or tuple(gy.shape) != (g["n"], g["oh"], g["ow"], g["f"])):
            return None
        xp = self.xp
        gy_mat = gy.reshape(g["rows"], g["f"])
        if g["pointwise"]:
            return xp.matmul(x.reshape(g["rows"], g["c"]).T, gy_mat).reshape(kernel_shape)
        chunk, pieces = self._row_chunks(g)
        cols = xp.empty((chunk, g["patch"]), dtype=dtype)
        gW = None
        for r0, nrows in pieces:
            self._im2col(x, cols[:nrows], g, strides, dilation, r0, nrows)
            part = xp.matmul(cols[:nrows].T, gy_mat[r0:r0 + nrows])  # gW = cols^T gy
            if gW is None:
                gW = part
            else:
                gW += part
        return gW.reshape(kernel_shape)

    def conv2d_backward_input(self, gy, W, input_shape, strides=(1, 1), padding="valid",
                              dilation=(1, 1)):
        g = self._conv_plan(tuple(input_shape), W.shape, strides, padding, dilation)
        dtype = _real_dtype(gy, W)
        if (g is None or dtype is None or not _contiguous(gy, W)
                or tuple(gy.shape) != (g["n"], g["oh"], g["ow"], g["f"])):
            return None
        xp = self.xp
        w_mat_t = W.reshape(g["patch"], g["f"]).T
        gy_mat = gy.reshape(g["rows"], g["f"])
        if g["pointwise"]:
            return xp.matmul(gy_mat, w_mat_t).reshape(input_shape)
        image_rows = g["oh"] * g["ow"]
        image_size = g["h"] * g["w"] * g["c"]
        per_chunk = max(1, min(g["n"], self.workspace_elements // (image_rows * g["patch"]),
                               _INT_LIMIT // image_size))
        gcols = xp.empty((per_chunk * image_rows, g["patch"]), dtype=dtype)
        gx = xp.empty(tuple(input_shape), dtype=dtype)
        i32 = np.int32
        for n0 in range(0, g["n"], per_chunk):
            nimg = min(per_chunk, g["n"] - n0)
            part = gcols[:nimg * image_rows]
            xp.matmul(gy_mat[n0 * image_rows:(n0 + nimg) * image_rows], w_mat_t, out=part)
            args = (part, gx, i32(g["h"]), i32(g["w"]), i32(g["c"]), i32(g["kh"]), i32(g["kw"]),
                    i32(strides[0]), i32(strides[1]), i32(dilation[0]), i32(dilation[1]),
                    i32(g["pt"]), i32(g["pl"]), i32(g["oh"]), i32(g["ow"]), i32(n0), i32(nimg))
            self.run(Launch("conv2d.cu", f"conv2d_col2im<{_C_TYPES[dtype.name]}>",
                            (self._grid_1d(nimg * image_size), 1, 1), (self.max_threads, 1, 1),
                            0, args))
        return gx

    # -------------------------------------------------- softmax cross-entropy
    def _row_launch(self, kernel, rows, classes, dtype, args, needs_scratch=True):
        threads_per_row = 32
        while threads_per_row < self.max_threads and threads_per_row * 4 < classes:
            threads_per_row *= 2  # about 4+ elements per thread and sweep
        rows_per_block = self.max_threads // threads_per_row
        warps = threads_per_row // 32
        shared = rows_per_block * warps * dtype.itemsize if needs_scratch and warps > 1 else 0
        grid = max(1, min(_ceil_div(rows, rows_per_block), self.max_blocks))
        self.run(Launch("softmax_crossentropy.cu", kernel, (grid, 1, 1),
                        (threads_per_row, rows_per_block, 1), shared, args))

    def _class_ids(self, labels, rows):
        """Sparse labels as a contiguous int32/int64 vector (as the NumPy reference casts)."""
        if labels.shape != (rows,) or labels.dtype.kind not in "iuf":
            return None
        if labels.dtype.name not in ("int32", "int64"):
            labels = labels.astype(np.int64)
        return self.xp.ascontiguousarray(labels)

    def _rows_ok(self, matrix):
        return (matrix.ndim == 2 and matrix.size > 0 and matrix.flags.c_contiguous
                and max(matrix.shape) <= _INT_LIMIT)

    def softmax_crossentropy(self, logits, labels):
        dtype = _real_dtype(logits)
        if dtype is None or not self._rows_ok(logits):
            return None
        rows, classes = logits.shape
        loss = self.xp.empty(rows, dtype=dtype)
        probs = self.xp.empty_like(logits)
        real = _C_TYPES[dtype.name]
        if labels.ndim == 1:
            ids = self._class_ids(labels, rows)
            if ids is None:
                return None
            kernel = f"softmax_ce_fwd_sparse<{real}, {_C_TYPES[ids.dtype.name]}>"
        else:
            if labels.shape != logits.shape or labels.dtype != dtype or not _contiguous(labels):
                return None
            ids, kernel = labels, f"softmax_ce_fwd_dense<{real}>"
        args = (logits, ids, loss, probs, np.int32(rows), np.int32(classes))
        self._row_launch(kernel, rows, classes, dtype, args)
        return loss, probs

    def softmax_crossentropy_backward(self, probs, labels, gloss):
        dtype = _real_dtype(probs)
        if dtype is None or not self._rows_ok(probs) or gloss.size != probs.shape[0]:
            return None
        rows, classes = probs.shape
        g = self.xp.ascontiguousarray(gloss.reshape(rows), dtype=dtype)
        glogits = self.xp.empty_like(probs)
        real = _C_TYPES[dtype.name]
        if labels.ndim == 1:
            ids = self._class_ids(labels, rows)
            if ids is None:
                return None
            kernel, scratch = f"softmax_ce_bwd_sparse<{real}, {_C_TYPES[ids.dtype.name]}>", False
        else:
            if labels.shape != probs.shape or labels.dtype != dtype or not _contiguous(labels):
                return None
            ids, kernel, scratch = labels, f"softmax_ce_bwd_dense<{real}>", True
        # glogits = (probs * sum(t) - t) * g
        self._row_launch(kernel, rows, classes, dtype, (probs, ids, g, glogits, np.int32(rows),
                                                        np.int32(classes)), scratch)
        return glogits


class KernelBackendMixin:
    """Backend overrides that run the raw kernels when the inputs qualify, else the generic code.

    Mixed in before `NumpyBackend` (the CuPy backend; the tests' emulated backend), it replaces
    only the kernel-backed op pairs. `kernel_ops()` returns the `KernelOps` to use, or None.
    """

    def kernel_ops(self):
        raise NotImplementedError

    def _with_kernels(self, method, *args):
        ops = self.kernel_ops() if enabled() else None
        return None if ops is None else getattr(ops, method)(*args)

    def dense(self, x, W, b=None, activation="linear", alpha=0.0):
        out = self._with_kernels("dense", x, W, b, activation, alpha)
        return super().dense(x, W, b, activation, alpha) if out is None else out

    def dense_backward(self, gy, x, W, y, z=None, activation="linear", alpha=0.0,
                       has_bias=True, need_gx=True):
        args = (gy, x, W, y, z, activation, alpha, has_bias, need_gx)
        out = self._with_kernels("dense_backward", *args)
        return super().dense_backward(*args) if out is None else out

    def conv2d(self, x, W, b=None, strides=(1, 1), padding="valid", dilation=(1, 1),
               activation="linear", alpha=0.0):
        y = self._with_kernels("conv2d", x, W, b, strides, padding, dilation)
        if y is None:
            return super().conv2d(x, W, b, strides, padding, dilation, activation, alpha)
        return self.activation_forward(y, activation, alpha)  # one elementwise pass after it

    def conv2d_backward(self, gy, x, W, y, strides=(1, 1), padding="valid", dilation=(1, 1),
                        activation="linear", alpha=0.0, has_bias=True, need_gx=True,
                        need_gW=True):
        geometry = (strides, padding, dilation)
        ops = self.kernel_ops() if enabled() else None
        if ops is not None:
            gz = self.activation_backward(gy, y, None, activation, alpha)
            x_shape = x if isinstance(x, tuple) else tuple(x.shape)
            w_shape = W if isinstance(W, tuple) else tuple(W.shape)
            gx = ops.conv2d_backward_input(gz, W, x_shape, *geometry) if need_gx else None
            gW = ops.conv2d_backward_filter(x, gz, w_shape, *geometry) if need_gW else None
            if (gx is not None or not need_gx) and (gW is not None or not need_gW):
                return gx, gW, (gz.sum(axis=(0, 1, 2)) if has_bias else None)
        return super().conv2d_backward(gy, x, W, y, *geometry, activation, alpha, has_bias,
                                       need_gx, need_gW)

    def conv2d_backward_filter(self, x, gy, kernel_shape, strides=(1, 1), padding="valid",
                               dilation=(1, 1)):
        args = (x, gy, kernel_shape, strides, padding, dilation)
        out = self._with_kernels("conv2d_backward_filter", *args)
        return super().conv2d_backward_filter(*args) if out is None else out

    def conv2d_backward_input(self, gy, W, input_shape, strides=(1, 1), padding="valid",
                              dilation=(1, 1)):
        args = (gy, W, input_shape, strides, padding, dilation)
        out = self._with_kernels("conv2d_backward_input", *args)
        return super().conv2d_backward_input(*args) if out is None else out

    def softmax_crossentropy(self, logits, labels):
        out = self._with_kernels("softmax_crossentropy", logits, labels)
        return super().softmax_crossentropy(logits, labels) if out is None else out

    def softmax_crossentropy_backward(self, probs, labels, gloss):
        out = self._with_kernels("softmax_crossentropy_backward", probs, labels, gloss)
        if out is None:
            return super().softmax_crossentropy_backward(probs, labels, gloss)
        return out
