"""Differentiable ops on gkeras Tensors (`keras.ops` names where Keras has them).

Importing this package also gives `Tensor` its Python operators (`+`, `*`, `@`, `[]`, ...).
"""

from gkeras.autodiff import Tensor
from gkeras.ops.activations import (  # noqa: F401
    celu,
    elu,
    gelu,
    hard_sigmoid,
    hard_silu,
    hard_swish,
    hard_tanh,
    leaky_relu,
    log_sigmoid,
    log_softmax,
    mish,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    softsign,
    swish,
    tanh,
)
from gkeras.ops.categorical import (  # noqa: F401
    categorical_crossentropy,
    one_hot,
    sparse_categorical_crossentropy,
)
from gkeras.ops.conv import (  # noqa: F401
    average_pool,
    avg_pool2d,
    conv,
    conv2d,
    conv2d_transpose,
    depthwise_conv2d,
    max_pool,
    max_pool2d,
)
from gkeras.ops.creation import (  # noqa: F401
    arange,
    eye,
    full,
    full_like,
    identity,
    ones,
    ones_like,
    zeros,
    zeros_like,
)
from gkeras.ops.elementwise import (  # noqa: F401
    ceil,
    cos,
    floor,
    round,
    sin,
    stop_gradient,
    tan,
)
from gkeras.ops.linalg import dot, einsum  # noqa: F401
from gkeras.ops.logic import (  # noqa: F401
    all,
    any,
    isfinite,
    isinf,
    isnan,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
)
from gkeras.ops.manipulation import flip, pad, repeat, tile  # noqa: F401
from gkeras.ops.math import (  # noqa: F401
    abs,
    absolute,
    add,
    clip,
    divide,
    equal,
    exp,
    expm1,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    log1p,
    matmul,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    power,
    sign,
    sqrt,
    square,
    subtract,
    sum_to,
    true_divide,
    where,
)
from gkeras.ops.nn import (  # noqa: F401
    batch_norm,
    batch_normalization,
    binary_crossentropy,
    dense,
    dropout,
    embedding,
    layer_norm,
    softmax_cross_entropy,
)
from gkeras.ops.reduction import (  # noqa: F401
    argmax,
    argmin,
    cumprod,
    cumsum,
    logsumexp,
    max,
    mean,
    min,
    std,
    sum,
    var,
)
from gkeras.ops.shape import (  # noqa: F401
    broadcast_to,
    cast,
    concatenate,
    convert_to_numpy,
    convert_to_tensor,
    expand_dims,
    get_item,
    reshape,
    shape,
    split,
    squeeze,
    stack,
    take,
    transpose,
)
from gkeras.ops.sorting import argsort, sort, take_along_axis, top_k  # noqa: F401

layer_normalization = layer_norm  # Keras's newer name


def _numpy_style_reduction(reduce):
    """`Tensor.sum` / `Tensor.mean` with NumPy's signature, so `np.sum(t)` and `np.mean(t)`
    (which call the method with `dtype=` and `out=`) work on a Tensor as on a Keras tensor."""

    def method(self, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        if out is not None:
            raise TypeError(f"Tensor.{reduce.__name__}: `out=` is not supported (Tensors are "
                            "immutable); use the returned Tensor.")
        result = reduce(self, axis, keepdims)
        return result if dtype is None else cast(result, dtype)

    method.__name__ = reduce.__name__
    return method


def _install_tensor_operators():
    def swap(fn):
        return lambda self, other: fn(other, self)

    Tensor.__add__ = add
    Tensor.__radd__ = swap(add)
    Tensor.__sub__ = subtract
    Tensor.__rsub__ = swap(subtract)
    Tensor.__mul__ = multiply
    Tensor.__rmul__ = swap(multiply)
    Tensor.__truediv__ = divide
    Tensor.__rtruediv__ = swap(divide)
    Tensor.__pow__ = power
    Tensor.__rpow__ = swap(power)
    Tensor.__matmul__ = matmul
    Tensor.__rmatmul__ = swap(matmul)
    Tensor.__neg__ = negative
    Tensor.__abs__ = abs
    Tensor.__getitem__ = get_item
    Tensor.__gt__ = greater
    Tensor.__ge__ = greater_equal
    Tensor.__lt__ = less
    Tensor.__le__ = less_equal
    Tensor.T = property(lambda self: transpose(self))
    Tensor.reshape = lambda self, *dims: reshape(
        self, dims[0] if len(dims) == 1 and not isinstance(dims[0], int) else dims
    )
    Tensor.sum = _numpy_style_reduction(sum)
    Tensor.mean = _numpy_style_reduction(mean)
    Tensor.astype = cast


_install_tensor_operators()

