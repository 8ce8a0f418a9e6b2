"""The CuPy backend: NumPy's reference code on the GPU, with raw kernels for the hot paths.

`dense`/`dense_backward`, `conv2d`/`conv2d_backward_*` and `softmax_crossentropy`/`..._backward`
come from `kernels.KernelBackendMixin`: they launch the kernels of `kernels/*.cu` when dtype,
shape and contiguity qualify, and run the inherited NumPy-reference code on CuPy arrays otherwise
(or always, under `GKERAS_KERNELS=never`).
"""

import cupy  # this module is imported only when CuPy is wanted
import numpy as np

from gkeras.backend import kernels
from gkeras.backend.numpy_backend import NumpyBackend

_PROBE_SOURCE = r"""
extern "C" __global__ void gkeras_probe(float* out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = 2.0f * i;
}
"""


def probe():
    """Raises unless a GPU is present and a trivial raw kernel compiles and runs correctly."""
    if not cupy.cuda.is_available():
        raise RuntimeError("no CUDA device is visible")
    kernel = cupy.RawKernel(_PROBE_SOURCE, "gkeras_probe")
    out = cupy.zeros(8, dtype=cupy.float32)
    kernel((1,), (8,), (out, np.int32(8)))
    if not np.array_equal(cupy.asnumpy(out), 2.0 * np.arange(8, dtype=np.float32)):
        raise RuntimeError("the probe kernel ran but returned wrong values")


class CupyBackend(kernels.KernelBackendMixin, NumpyBackend):
    """Backend on an NVIDIA GPU through CuPy."""

    name = "cupy"
    # the NumPy twins' convolutions in one chunk: a GPU wants the whole batch in one GEMM
    conv_chunk_bytes = 1 << 62

    def __init__(self):
        self.xp = cupy
        self._kernel_ops = None

    def kernel_ops(self):
        """The raw-kernel launchers, created (not compiled) on first use."""
        if self._kernel_ops is None:
            self._kernel_ops = kernels.gpu_ops()
        return self._kernel_ops

    def to_numpy(self, array):
        return cupy.asnumpy(array)

    def owns(self, array):
        return isinstance(array, cupy.ndarray)

    def device_name(self):
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        name = props["name"]
        return name.decode() if isinstance(name, bytes) else str(name)

    def synchronize(self):
        cupy.cuda.get_current_stream().synchronize()

    def erf(self, x):
        from cupyx.scipy.special import erf

        return erf(x)
