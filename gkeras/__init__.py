"""gkeras: Keras-compatible deep learning on NumPy (CPU) and CuPy (NVIDIA GPUs).

Use it as you would Keras::

    import gkeras as keras
    model = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
"""

__version__ = "0.1.0"

from gkeras import (  # noqa: F401
    activations,
    backend,  # noqa: F401
    config,  # noqa: F401
    constraints,
    initializers,
    layers,  # noqa: F401
    ops,  # noqa: F401  (also installs Tensor operators)
    random,
    regularizers,
)
from gkeras.autodiff import Tensor, Variable, no_grad  # noqa: F401
from gkeras.layers import Input, InputSpec, Layer  # noqa: F401

_LAZY_MODULES = (
    "callbacks", "datasets", "distribute", "losses", "metrics", "models", "optimizers",
    "saving", "utils", "info",
)
_LAZY_NAMES = {
    "Model": "gkeras.models", "Sequential": "gkeras.models", "Functional": "gkeras.models",
    "KerasTensor": "gkeras.layers.node",
}


def __getattr__(name):
    # Heavier packages load on first use, which keeps `import gkeras` fast.
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f"gkeras.{name}")
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    raise AttributeError(f"module 'gkeras' has no attribute {name!r}")
