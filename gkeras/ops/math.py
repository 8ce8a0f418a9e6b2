"""Elementwise arithmetic, reductions and matmul, with broadcasting."""

from gkeras.autodiff import Function, Tensor, as_tensors
from gkeras.backend import backend_of


def xp_of(array):
    return backend_of(array).xp


def sum_to(g, shape):
    """Sums a broadcast gradient `g` back down to `shape` (the reverse of broadcasting)."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape) if lead else g


def _data(t):
    return t.data


# --------------------------------------------------------------------- binary ops
class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        a, b = self.inputs
        return sum_to(gy, a.shape), sum_to(gy, b.shape)


class Subtract(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        a, b = self.inputs
        return sum_to(gy, a.shape), sum_to(-gy, b.shape)


class Multiply(Function):
    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        return sum_to(gy * b.data, a.shape), sum_to(gy * a.data, b.shape)


class Divide(Function):
    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        ga = gy / b.data
        return sum_to(ga, a.shape), sum_to(-ga * a.data / b.data, b.shape)


class Power(Function):
    def forward(self, a, b):
        return a**b

    def backward(self, gy):
        a, b = self.inputs
        xp = xp_of(gy)
        y = a.data**b.data
        ga = gy * b.data * a.data ** (b.data - 1)  # d a^b / da = b a^(b-1)
        gb = None
        if b.requires_grad:
            safe_log = xp.log(xp.where(a.data > 0, a.data, 1))  # d a^b / db = a^b ln a
            gb = sum_to(gy * y * safe_log, b.shape)
        return sum_to(ga, a.shape), gb


class Maximum(Function):
    def forward(self, a, b):
        return xp_of(a).maximum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        take_a = a.data >= b.data  # ties send the gradient to the first argument
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
        if ad.ndim == 1:
            ad = ad[None, :]
            gy = xp.expand_dims(gy, -2)
        if bd.ndim == 1:
            bd = bd[:, None]
            gy = xp.expand_dims(gy, -1)
        ga = gy @ xp.swapaxes(bd, -1, -2)  # ga = gy b^T
        gb = xp.swapaxes(ad, -1, -2) @ gy  # gb = a^T gy
        return sum_to(ga, ad.shape).reshape(a.shape), sum_to(gb, bd.shape).reshape(b.shape)


class Where(Function):
    def forward(self, condition, a, b):
        return xp_of(a).where(condition, a, b)

    def backward(self, gy):
        condition, a, b = self.inputs
        cond = condition.data.astype(bool)
        return None, sum_to(gy * cond, a.shape), sum_to(gy * ~cond, b.shape)


def add(x1, x2):
    """Elementwise `x1 + x2` with broadcasting."""
    return Add()(x1, x2)


def subtract(x1, x2):
    """Elementwise `x1 - x2` with broadcasting."""
    return Subtract()(x1, x2)


def multiply(x1, x2):
    """Elementwise `x1 * x2` with broadcasting."""
    return Multiply()(x1, x2)


def divide(x1, x2):
    """Elementwise `x1 / x2` with broadcasting."""
    return Divide()(x1, x2)


def power(x1, x2):
    """Elementwise `x1 ** x2` with broadcasting."""
    return Power()(x1, x2)


def maximum(x1, x2):
    """Elementwise maximum with broadcasting."""
    return Maximum()(x1, x2)


def minimum(x1, x2):
    """Elementwise minimum with broadcasting."""
    return Minimum()(x1, x2)


def matmul(x1, x2):
    """Matrix product with NumPy's `matmul` semantics (batched, 1-D promoted)."""
    return MatMul()(x1, x2)


def where(condition, x1, x2):
    """Picks `x1` where `condition` holds and `x2` elsewhere (gradients flow to both)."""
    condition, x1, x2 = as_tensors((condition, x1, x2))
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
    """Elementwise `-x`."""
    return Negative()(x)


def exp(x):
    """Elementwise `e**x`."""
    return Exp()(x)


def log(x):
    """Elementwise natural logarithm."""
    return Log()(x)


def sqrt(x):
    """Elementwise square root."""
    return Sqrt()(x)


def square(x):
    """Elementwise `x * x`."""
    return Square()(x)


def abs(x):  # noqa: A001  (Keras's name)
    """Elementwise absolute value (gradient `sign(x)`)."""
    return Abs()(x)


absolute = abs


def clip(x, x_min, x_max):
    """Clips values to `[x_min, x_max]`; the gradient is zero outside the interval."""
    return Clip(x_min, x_max)(x)


# --------------------------------------------------------------------- reductions
def _normalize_axis(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(a % ndim for a in axis)


def _expand_reduced(g, axes, keepdims):
    """Gives a reduced gradient back its reduced axes (as size 1) so it broadcasts."""
    if keepdims:
        return g
    for ax in sorted(axes):
        g = xp_of(g).expand_dims(g, ax)
    return g


class Sum(Function):
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = _normalize_axis(self.axis, x.ndim)
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        shape = self.inputs[0].shape
        g = _expand_reduced(gy, self.axes, self.keepdims)
        return xp_of(gy).broadcast_to(g, shape).copy()


class Mean(Sum):
    def forward(self, x):
        y = super().forward(x)
        self.count = 1
        for ax in self.axes:
            self.count *= x.shape[ax]
        return y / self.count if self.count else y

    def backward(self, gy):
        return super().backward(gy / self.count)


class Max(Function):
    def __init__(self, axis=None, keepdims=False, use_min=False):
        self.axis, self.keepdims, self.use_min = axis, keepdims, use_min

    def forward(self, x):
        self.axes = _normalize_axis(self.axis, x.ndim)
        reduce = x.min if self.use_min else x.max
        self.y = reduce(axis=self.axes, keepdims=True)
        return self.y if self.keepdims else self.y.reshape(
            [n for i, n in enumerate(x.shape) if i not in self.axes]
        )

    def backward(self, gy):
        x = self.inputs[0].data
        g = _expand_reduced(gy, self.axes, self.keepdims)
        mask = x == self.y
        # ties share the gradient equally, so the result is a valid subgradient
        count = mask.sum(axis=self.axes, keepdims=True)
        return g * mask / count


def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum over `axis` (int, tuple or `None` for all)."""
    return Sum(axis, keepdims)(x)


def mean(x, axis=None, keepdims=False):
    """Mean over `axis` (int, tuple or `None` for all)."""
    return Mean(axis, keepdims)(x)


def max(x, axis=None, keepdims=False):  # noqa: A001
    """Maximum over `axis`; ties share the gradient."""
    return Max(axis, keepdims)(x)


def min(x, axis=None, keepdims=False):  # noqa: A001
    """Minimum over `axis`; ties share the gradient."""
    return Max(axis, keepdims, use_min=True)(x)


# ------------------------------------------------- non-differentiable helpers
def _raw(fn):
    def op(*args, **kwargs):
        tensors = as_tensors(args)
        return Tensor(fn(*[t.data for t in tensors], **kwargs))

    return op


greater = _raw(lambda a, b: a > b)
greater_equal = _raw(lambda a, b: a >= b)
less = _raw(lambda a, b: a < b)
less_equal = _raw(lambda a, b: a <= b)
equal = _raw(lambda a, b: a == b)
not_equal = _raw(lambda a, b: a != b)
argmax = _raw(lambda x, axis=-1: x.argmax(axis=axis))
argmin = _raw(lambda x, axis=-1: x.argmin(axis=axis))
sign = _raw(lambda x: xp_of(x).sign(x))
