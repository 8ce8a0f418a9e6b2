"""Global settings: float type, fuzz factor, image layout and the requested backend.

This module sits at the bottom of the stack and imports nothing from gkeras.
"""

import os

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
_VALID_FLOATX = ("float16", "float32", "float64")


def floatx():
    """Returns the default float type, as a string (e.g. `"float32"`)."""
    return _FLOATX


def set_floatx(value):
    """Sets the default float type used for new weights, inputs, losses and metrics.

    Args:
        value: one of `"float16"`, `"float32"` or `"float64"`.
    """
    global _FLOATX
    value = getattr(value, "name", None) or getattr(value, "__name__", None) or str(value)
    if value not in _VALID_FLOATX:
        raise ValueError(f"Unknown floatx type: {value!r}. Expected one of {list(_VALID_FLOATX)}.")
    _FLOATX = value


def epsilon():
    """Returns the fuzz factor used in numeric expressions (default `1e-7`)."""
    return _EPSILON


def set_epsilon(value):
    """Sets the fuzz factor used in numeric expressions.

    Args:
        value: a non-negative float.
    """
    global _EPSILON
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"epsilon must be a float, got {value!r}.") from None
    if not value >= 0:
        raise ValueError(f"epsilon must be a non-negative float, got {value}.")
    _EPSILON = value


def image_data_format():
    """Returns the image layout convention. gkeras supports `"channels_last"` (NHWC)."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format):
    """Sets the image layout; only `"channels_last"` is supported.

    Args:
        data_format: `"channels_last"`.
    """
    global _IMAGE_DATA_FORMAT
    data_format = str(data_format).lower()
    if data_format != "channels_last":
        raise ValueError(
            f"Unsupported image_data_format {data_format!r}: gkeras supports 'channels_last' only."
        )
    _IMAGE_DATA_FORMAT = data_format


def requested_backend():
    """The backend asked for through `GKERAS_BACKEND` (`numpy`, `cupy` or `auto`)."""
    name = os.environ.get("GKERAS_BACKEND", "auto").strip().lower() or "auto"
    if name not in ("numpy", "cupy", "auto"):
        raise ValueError(
            f"GKERAS_BACKEND={name!r} is not valid. Expected one of 'numpy', 'cupy', 'auto'."
        )
    return name


def backend():
    """The name of the backend arrays are placed on: `"numpy"` or `"cupy"`
    (`keras.config.backend()`)."""
    from gkeras import backend as backend_module  # the backend package sits above config

    return backend_module.backend()
