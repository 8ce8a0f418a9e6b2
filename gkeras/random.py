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


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """A Tensor of normal samples redrawn until within two standard deviations of `mean`."""
    from gkeras.autodiff import Tensor

    dtype = dtype or backend_module.floatx()
    rng = _resolve(seed)
    values = rng.standard_normal(size=tuple(shape))
    outside = np.abs(values) > 2
    while outside.any():  # each pass redraws ~5% of what is left, so this ends quickly
        values[outside] = rng.standard_normal(size=int(outside.sum()))
        outside = np.abs(values) > 2
    values = (values * stddev + mean).astype(dtype)
    return Tensor(backend_module.get_backend().asarray(values))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """A Tensor of integers drawn uniformly from `[minval, maxval)`."""
    from gkeras.autodiff import Tensor

    values = _resolve(seed).integers(minval, maxval, size=tuple(shape)).astype(dtype)
    return Tensor(backend_module.get_backend().asarray(values))


def shuffle(x, axis=0, seed=None):
    """Returns `x` with its entries permuted along `axis` (no gradient)."""
    from gkeras.autodiff import Tensor, as_tensor
    from gkeras.backend import backend_of

    x = as_tensor(x)
    order = _resolve(seed).permutation(x.shape[axis])
    bk = backend_of(x.data)
    return Tensor(bk.xp.take(x.data, bk.asarray(order), axis=axis))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """`keras.random.dropout`: zeroes entries with probability `rate`, scales the rest."""
    from gkeras.ops.nn import dropout as _dropout

    return _dropout(inputs, rate, noise_shape=noise_shape, seed=seed)
