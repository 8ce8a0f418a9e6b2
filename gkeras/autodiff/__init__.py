"""Reverse-mode autodiff: `Tensor`, `Variable`, `Function`, `no_grad`."""

from gkeras.autodiff.core import (  # noqa: F401
    Function,
    Tensor,
    as_tensor,
    as_tensors,
    enable_grad,
    is_grad_enabled,
    no_grad,
    to_array,
)
from gkeras.autodiff.variable import Variable  # noqa: F401
