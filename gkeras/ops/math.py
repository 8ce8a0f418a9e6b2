"""Elementwise arithmetic, reductions and matmul, with broadcasting."""

from gkeras.autodiff import Function, Tensor, as_tensor, as_tensors
from gkeras.backend import backend_of


def xp_of(array):
    """The array module (NumPy or CuPy) that owns `array`."""
    return backend_of(array).xp


def sum_to(g, shape):
    """Sums a broadcast gradient `g` back down to `shape` (the reverse of broadcasting).

    Args:
        g: a raw array.
        shape: a shape `g`'s shape was broadcast from.

    Returns:
        A raw array of `shape` (`g` itself when the shapes already match).
    """
    shape = tuple(shape)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape) if lead else g


# --------------------------------------------------------------------- binary ops
class Add(Function):
    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return a + b

    def backward(self, gy):
        return sum_to(gy, self.shapes[0]), sum_to(gy, self.shapes[1])


class Subtract(Function):
    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return a - b

    def backward(self, gy):
        return sum_to(gy, self.shapes[0]), sum_to(-gy, self.shapes[1])


class Multiply(Function):
    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        ga = sum_to(gy * b.data, a.shape) if a.requires_grad else None
        gb = sum_to(gy * a.data, b.shape) if b.requires_grad else None
        return ga, gb


class Divide(Function):
    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        ga = gy / b.data  # d(a/b)/da = 1/b
        gb = sum_to(-ga * a.data / b.data, b.shape) if b.requires_grad else None  # -a/b^2
        return sum_to(ga, a.shape), gb


class Power(Function):
    def forward(self, a, b):
        self.y = a**b
        return self.y

    def backward(self, gy):
        a, b = self.inputs
        ga = gb = None
        if a.requires_grad:
            ga = sum_to(gy * b.data * a.data ** (b.data - 1), a.shape)  # d a^b/da = b a^(b-1)
        if b.requires_grad:
            xp = xp_of(gy)
            # d a^b/db = a^b ln a; taken as 0 where a <= 0 (a^b is 0 there, or not real)
            safe_log = xp.log(xp.where(a.data > 0, a.data, 1))
            gb = sum_to(gy * self.y * safe_log, b.shape)
        return ga, gb


class Maximum(Function):
    def forward(self, a, b):
        return xp_of(a).maximum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        take_a = a.data >= b.data  # ties send the gradient to the first argument, as TF does
        return sum_to(gy * take_a, a.shape), sum_to(gy * ~take_a, b.shape)


class Minimum(Function):
    def forward(self, a, b):
        return xp_of(a).minimum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        take_a = a.data <= b.data
        return sum_to(gy * take_a, a.shape), sum_to(gy * ~take_a, b.shape)


class MatMul(Function):
    def forward(self, a, b):
        return a @ b

    def backward(self, gy):
        a, b = self.inputs
        xp = xp_of(gy)
        ad, bd = a.data, b.data
        if ad.ndim == 1 and bd.ndim == 1:  # inner product: gy is a scalar
            return gy * bd, gy * ad
        # promote 1-D operands the way matmul does, so one batched formula covers every case
        if ad.ndim == 1:
            ad = ad[None, :]
            gy = xp.expand_dims(gy, -2)
        if bd.ndim == 1:
            bd = bd[:, None]
            gy = xp.expand_dims(gy, -1)
        ga = gb = None
        if a.requires_grad:
            ga = sum_to(gy @ xp.swapaxes(bd, -1, -2), ad.shape).reshape(a.shape)  # gy b^T
        if b.requires_grad:
            gb = sum_to(xp.swapaxes(ad, -1, -2) @ gy, bd.shape).reshape(b.shape)  # a^T gy
        return ga, gb


class Where(Function):
    def forward(self, condition, a, b):
        self.cond = condition.astype(bool, copy=False)
        return xp_of(a).where(self.cond, a, b)

    def backward(self, gy):
        _, a, b = self.inputs
        return None, sum_to(gy * self.cond, a.shape), sum_to(gy * ~self.cond, b.shape)


def add(x1, x2):
    """Elementwise `x1 + x2` with broadcasting.

    Args:
        x1: a tensor or array-like.
        x2: a tensor or array-like; the two broadcast against each other.

    Returns:
        A tensor of the broadcast shape.
    """
    return Add()(x1, x2)


def subtract(x1, x2):
    """Elementwise `x1 - x2` with broadcasting.

    Args:
        x1: a tensor or array-like.
        x2: a tensor or array-like; the two broadcast against each other.

    Returns:
        A tensor of the broadcast shape.
    """
    return Subtract()(x1, x2)


def multiply(x1, x2):
    """Elementwise `x1 * x2` with broadcasting.

    Args:
        x1: a tensor or array-like.
        x2: a tensor or array-like; the two broadcast against each other.

    Returns:
        A tensor of the broadcast shape.
    """
    return Multiply()(x1, x2)


def divide(x1, x2):
    """Elementwise `x1 / x2` with broadcasting.

    Args:
        x1: a tensor or array-like.
        x2: a tensor or array-like; the two broadcast against each other.

    Returns:
        A tensor of the broadcast shape.
    """
    return Divide()(x1, x2)


true_divide = divide


def power(x1, x2):
    """Elementwise `x1 ** x2` with broadcasting.

    Args:
        x1: a tensor or array-like.
        x2: a tensor or array-like; the two broadcast against each other.

    The gradient for the exponent, `x1**x2 * log(x1)`, is taken as 0 where `x1 <= 0`.

    Returns:
        A tensor of the broadcast shape.
    """
    return Power()(x1, x2)


def maximum(x1, x2):
    """Elementwise maximum with broadcasting; ties send the gradient to `x1`.

    Args:
        x1: a tensor or array-like.
        x2: a tensor or array-like; the two broadcast against each other.

    Returns:
        A tensor of the broadcast shape.
    """
    return Maximum()(x1, x2)


def minimum(x1, x2):
    """Elementwise minimum with broadcasting; ties send the gradient to `x1`.

    Args:
        x1: a tensor or array-like.
        x2: a tensor or array-like; the two broadcast against each other.

    Returns:
        A tensor of the broadcast shape.
    """
    return Minimum()(x1, x2)


def matmul(x1, x2):
    """Matrix product with NumPy's `matmul` semantics (batched, 1-D operands promoted).

    Args:
        x1: a tensor of rank >= 1, (..., M, K) or (K,).
        x2: a tensor of rank >= 1, (..., K, N) or (K,).

    Returns:
        The product; leading batch dimensions broadcast.
    """
    x1, x2 = as_tensors((x1, x2))
    if x1.ndim == 0 or x2.ndim == 0:
        raise ValueError(
            f"matmul: operands must have rank >= 1, got shapes {x1.shape} and {x2.shape}."
        )
    k1 = x1.shape[-1]
    k2 = x2.shape[0] if x2.ndim == 1 else x2.shape[-2]
    if k1 != k2:
        raise ValueError(
            f"matmul: inner dimensions differ: x1 {x1.shape} has {k1}, x2 {x2.shape} has {k2}."
        )
    return MatMul()(x1, x2)


def where(condition, x1, x2):
    """Picks `x1` where `condition` holds and `x2` elsewhere (gradients flow to both).

    Args:
        condition: a boolean (or truthy) tensor.
        x1: values where `condition` is true.
        x2: values where it is false; all three broadcast together.

    Returns:
        A tensor of the broadcast shape.
    """
    x1, x2, condition = as_tensors((x1, x2, condition))
    return Where()(condition, x1, x2)


# ---------------------------------------------------------------------- unary ops
class Negative(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Exp(Function):
    def forward(self, x):
        self.y = xp_of(x).exp(x)
        return self.y

    def backward(self, gy):
        return gy * self.y


class Log(Function):
    def forward(self, x):
        return xp_of(x).log(x)

    def backward(self, gy):
        return gy / self.inputs[0].data


class Log1p(Function):
    def forward(self, x):
        return xp_of(x).log1p(x)

    def backward(self, gy):
        return gy / (1 + self.inputs[0].data)


class Expm1(Function):
    def forward(self, x):
        self.y = xp_of(x).expm1(x)
        return self.y

    def backward(self, gy):
        return gy * (self.y + 1)


class Sqrt(Function):
    def forward(self, x):
        self.y = xp_of(x).sqrt(x)
        return self.y

    def backward(self, gy):
        return gy * 0.5 / self.y


class Square(Function):
    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * 2 * self.inputs[0].data


class Abs(Function):
    def forward(self, x):
        return xp_of(x).abs(x)

    def backward(self, gy):
        return gy * xp_of(gy).sign(self.inputs[0].data)


class Clip(Function):
    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, x):
        return xp_of(x).clip(x, self.low, self.high)

    def backward(self, gy):
        x = self.inputs[0].data
        inside = (x >= self.low) & (x <= self.high)
        return gy * inside


def negative(x):
    """Elementwise `-x`.

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return Negative()(x)


def exp(x):
    """Elementwise `e**x`.

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return Exp()(x)


def log(x):
    """Elementwise natural logarithm.

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return Log()(x)


def log1p(x):
    """Elementwise `log(1 + x)`, accurate for small `x`.

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return Log1p()(x)


def expm1(x):
    """Elementwise `exp(x) - 1`, accurate for small `x`.

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return Expm1()(x)


def sqrt(x):
    """Elementwise square root.

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return Sqrt()(x)


def square(x):
    """Elementwise `x * x`.

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return Square()(x)


def abs(x):  # noqa: A001  (Keras's name)
    """Elementwise absolute value (gradient `sign(x)`, 0 at 0).

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return Abs()(x)


absolute = abs


def clip(x, x_min, x_max):
    """Clips values to `[x_min, x_max]`.

    The gradient passes where `x_min <= x <= x_max` and is zero outside.

    Args:
        x: a tensor or array-like.
        x_min: the lower bound (a constant: no gradient flows to it).
        x_max: the upper bound (a constant).

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    x = as_tensor(x)
    bounds = []
    for bound in (x_min, x_max):
        if isinstance(bound, Tensor):
            bound = bound.data
        if isinstance(bound, (int, float)) and x.dtype.kind == "f":
            bound = x.dtype.type(bound)  # keeps float32 inputs float32
        bounds.append(bound)
    return Clip(*bounds)(x)


# ------------------------------------------------- non-differentiable helpers
def _raw_binary(fn):
    def op(x1, x2):
        a, b = as_tensors((x1, x2))
        return Tensor(fn(a.data, b.data))

    op.__name__ = fn.__name__.lstrip("_")
    op.__doc__ = fn.__doc__
    return op


def _greater(a, b):
    """Elementwise `x1 > x2` (a boolean Tensor, no gradient)."""
    return a > b


def _greater_equal(a, b):
    """Elementwise `x1 >= x2` (a boolean Tensor, no gradient)."""
    return a >= b


def _less(a, b):
    """Elementwise `x1 < x2` (a boolean Tensor, no gradient)."""
    return a < b


def _less_equal(a, b):
    """Elementwise `x1 <= x2` (a boolean Tensor, no gradient)."""
    return a <= b


def _equal(a, b):
    """Elementwise `x1 == x2` (a boolean Tensor, no gradient)."""
    return a == b


def _not_equal(a, b):
    """Elementwise `x1 != x2` (a boolean Tensor, no gradient)."""
    return a != b


greater = _raw_binary(_greater)
greater_equal = _raw_binary(_greater_equal)
less = _raw_binary(_less)
less_equal = _raw_binary(_less_equal)
equal = _raw_binary(_equal)
not_equal = _raw_binary(_not_equal)


def sign(x):
    """Elementwise sign (-1, 0 or 1), with no gradient.

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    x = as_tensor(x)
    return Tensor(xp_of(x.data).sign(x.data))
