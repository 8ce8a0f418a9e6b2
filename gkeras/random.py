"""Random numbers with one global, seedable source (like `keras.random`).

Host-side draws (weight initialisers, shuffling) use one NumPy Generator so that
`gkeras.utils.set_random_seed(s)` makes a whole program bit-reproducible on NumPy.
"""

import random as _pyrandom

import numpy as np

from gkeras import backend as backend_module

_global_rng = np.random.default_rng()


def set_seed(seed):
    """Seeds every random source gkeras uses (Python, NumPy, gkeras, and CuPy when active)."""
    global _global_rng
    seed = int(seed)
    _pyrandom.seed(seed)
    np.random.seed(seed % 2**32)
    _global_rng = np.random.default_rng(seed)
    bk = backend_module.get_backend()
    if bk.name == "cupy":
        bk.xp.random.seed(seed % 2**32)


def global_rng():
    """The process-wide NumPy Generator behind every unseeded draw."""
    return _global_rng


class SeedGenerator:
    """A private, seeded stream of random numbers (for a layer that must be reproducible alone).

    Args:
        seed: an int, or `None` to draw from the global generator.
    """

    def __init__(self, seed=None):
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def next_generator(self):
        return self._rng if self._rng is not None else _global_rng


def _resolve(seed):
    if seed is None:
        return _global_rng
    if isinstance(seed, SeedGenerator):
        return seed.next_generator()
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(int(seed))


def uniform_array(shape, dtype, bk=None, seed=None):
    """A raw array of uniform [0, 1) samples on backend `bk` (the active one by default)."""
    bk = bk or backend_module.get_backend()
    rng = _resolve(seed)
    dtype = np.dtype(dtype)
    draw_dtype = dtype if dtype in (np.float32, np.float64) else np.float32
    if bk.name == "numpy":
        return rng.random(shape, dtype=draw_dtype).astype(dtype, copy=False)
    # one host-drawn seed per call keeps GPU draws reproducible under set_seed
    device_rng = bk.xp.random.default_rng(int(rng.integers(2**63)))
    return device_rng.random(shape, dtype=draw_dtype).astype(dtype, copy=False)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """A Tensor of uniform samples in `[minval, maxval)`."""
    from gkeras.autodiff import Tensor

    dtype = dtype or backend_module.floatx()
    u = uniform_array(tuple(shape), dtype, seed=seed)
    return Tensor(u * (maxval - minval) + minval)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """A Tensor of normal samples."""
    from gkeras.autodiff import Tensor

    dtype = dtype or backend_module.floatx()
    values = _resolve(seed).normal(mean, stddev, size=tuple(shape)).astype(dtype)
    return Tensor(backend_module.get_backend().asarray(values))
