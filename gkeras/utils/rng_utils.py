"""Seeding every random source at once."""

import numbers


def set_random_seed(seed):
    """Sets all random seeds (Python, NumPy, gkeras, and CuPy when it is the active backend).

    After `set_random_seed(s)`, weight initialisation, dropout and shuffling repeat exactly
    from run to run on the NumPy backend.

    Args:
        seed: a non-negative integer.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(
            f"Expected `seed` argument to be an integer. Received: seed={seed!r} "
            f"(of type {type(seed).__name__})"
        )
    if seed < 0:
        raise ValueError(f"Expected `seed` to be a non-negative integer. Received: seed={seed}")
    from gkeras import random

    random.set_seed(int(seed))
