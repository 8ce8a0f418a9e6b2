"""Backend selection: which array library holds new arrays, and which one runs an op.

Dispatch follows the data (`backend_of(array)`); placement follows the configuration
(`GKERAS_BACKEND`, `set_backend`). This package is the only place that imports CuPy.
"""

import importlib
import sys

from gkeras.backend.numpy_backend import NumpyBackend
from gkeras.config import (  # noqa: F401  (Keras exposes these under keras.backend)
    epsilon,
    floatx,
    image_data_format,
    requested_backend,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)

_NUMPY = NumpyBackend()
_active = None  # the placement backend, chosen on first use
_cupy_backend = None  # the CuPy backend once the probe passed
_cupy_error = None  # why CuPy cannot be used here, once the probe failed
_cupy_missing = False  # the probe failed only because CuPy is not installed
_fallback_reported = False


def _load_cupy():
    """Returns the CuPy backend, or raises RuntimeError naming why it cannot run here.

    The probe (import, device present, one raw kernel compiled and run) happens once per process.
    """
    global _cupy_backend, _cupy_error, _cupy_missing
    if _cupy_backend is not None:
        return _cupy_backend
    if _cupy_error is not None:
        raise RuntimeError(_cupy_error)
    try:
        from gkeras.backend.cupy_backend import CupyBackend, probe

        probe()
        _cupy_backend = CupyBackend()
    except Exception as exc:  # any failure means "no usable GPU here"
        _cupy_missing = isinstance(exc, ModuleNotFoundError) and exc.name == "cupy"
        _cupy_error = (
            f"The CuPy backend cannot run here: {type(exc).__name__}: {exc}. "
            "Install CuPy for your CUDA version with `pip install gkeras[cuda12]` "
            "(or `gkeras[cuda13]`) on a machine with an NVIDIA GPU, or use GKERAS_BACKEND=numpy."
        )
        raise RuntimeError(_cupy_error) from exc
    return _cupy_backend


def set_backend(name):
    """Chooses where new arrays (weights, incoming batches) are placed.

    Args:
        name: `"numpy"`, `"cupy"` or `"auto"` (CuPy when a GPU works, else NumPy).

    Returns:
        The active Backend object.
    """
    global _active, _fallback_reported
    name = str(name).strip().lower()
    if name == "numpy":
        _active = _NUMPY
    elif name == "cupy":
        _active = _load_cupy()
    elif name == "auto":
        try:
            _active = _load_cupy()
        except RuntimeError as exc:
            # CuPy simply not being installed is the normal CPU case: say nothing then,
            # and say the reason once per process otherwise.
            if not _cupy_missing and not _fallback_reported:
                _fallback_reported = True
                print(f"gkeras: using the NumPy backend ({_short_reason(exc)})", file=sys.stderr)
            _active = _NUMPY
    else:
        raise ValueError(f"Unknown backend {name!r}. Expected one of 'numpy', 'cupy', 'auto'.")
    return _active


def _short_reason(exc):
    return str(exc).split(". Install")[0].replace("The CuPy backend cannot run here: ", "")


def get_backend():
    """Returns the active placement Backend, choosing it from `GKERAS_BACKEND` on first use."""
    if _active is None:
        set_backend(requested_backend())
    return _active


def backend():
    """Returns the active backend's name (`"numpy"` or `"cupy"`), as `keras.backend.backend()`."""
    return get_backend().name


def numpy_backend():
    """The NumPy backend object (always available)."""
    return _NUMPY


def backend_of(array):
    """The Backend that owns `array`: ops run where their data lives."""
    if isinstance(array, _NUMPY.xp.ndarray) or _cupy_backend is None:
        return _NUMPY
    return _cupy_backend if _cupy_backend.owns(array) else _NUMPY


def cupy_module(name="cupy"):
    """The `cupy` module, or one of its submodules (`"cupy.cuda.nccl"`), imported here.

    For the few places outside the backend that must talk to CUDA themselves (NCCL
    collectives and GPU choice in `gkeras.distribute`), so that this package stays the only
    one importing CuPy. Raises `ImportError` where CuPy (or the submodule) is missing.
    """
    if name != "cupy" and not name.startswith("cupy."):
        raise ValueError(f"cupy_module: expected 'cupy' or a 'cupy.' submodule, got {name!r}.")
    return importlib.import_module(name)


def cupy_status():
    """`(usable, reason)`: whether the CuPy backend works here, and why not when it does not."""
    try:
        _load_cupy()
        return True, ""
    except RuntimeError as exc:
        return False, _short_reason(exc)
