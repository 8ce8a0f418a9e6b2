"""Differentiable ops on gkeras Tensors (`keras.ops` names where Keras has them).

Importing this package also gives `Tensor` its Python operators (`+`, `*`, `@`, `[]`, ...).
"""

from gkeras.autodiff import Tensor
from gkeras.ops.activations import (  # noqa: F401
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    swish,
    tanh,
)
from gkeras.ops.math import (  # noqa: F401
    abs,
    absolute,
    add,
    argmax,
    argmin,
    clip,
    divide,
    equal,
    exp,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    multiply,
    negative,
    not_equal,
    power,
    sign,
    sqrt,
    square,
    subtract,
    sum,
    sum_to,
    where,
)
from gkeras.ops.nn import (  # noqa: F401
    avg_pool2d,
    batch_norm,
    batch_normalization,
    conv2d,
    dense,
    dropout,
    embedding,
    layer_norm,
    max_pool2d,
    softmax_cross_entropy,
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

conv = conv2d  # Keras's name for the N-d convolution op (gkeras implements 2-D)
max_pool = max_pool2d
average_pool = avg_pool2d


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
    Tensor.reshape = lambda self, *shape: reshape(
        self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
    )
    Tensor.sum = lambda self, axis=None, keepdims=False: sum(self, axis, keepdims)
    Tensor.mean = lambda self, axis=None, keepdims=False: mean(self, axis, keepdims)
    Tensor.astype = cast


_install_tensor_operators()
