"""The CuPy backend: NumPy's reference code on the GPU, with raw kernels for the hot paths."""

import numpy as np

from gkeras.backend.numpy_backend import NumpyBackend

import cupy  # noqa: E402  (this module is imported only when CuPy is wanted)

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


class CupyBackend(NumpyBackend):
    """Backend on an NVIDIA GPU through CuPy."""

    name = "cupy"

    def __init__(self):
        self.xp = cupy

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
