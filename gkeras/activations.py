"""Activation functions by name, as `keras.activations`."""

from gkeras import ops
from gkeras.ops.activations import general_relu

# Activations the fused dense kernel can apply in its epilogue, with their fused name and alpha.
FUSABLE = {"linear": ("linear", 0.0), "relu": ("relu", 0.0), "sigmoid": ("sigmoid", 0.0),
           "tanh": ("tanh", 0.0), "gelu": ("gelu", 0.0), "leaky_relu": ("leaky_relu", 0.2),
           "elu": ("elu", 1.0)}


def linear(x):
    """Identity: returns `x` unchanged."""
    return ops.convert_to_tensor(x)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit, with Keras 3's optional slope, cap and threshold.

    With the defaults this is `max(x, 0)`. Otherwise: `x` where `x > threshold` (else 0),
    capped at `max_value` when it is given, and `negative_slope * (x - threshold)` added
    below the threshold.

    Args:
        x: input tensor.
        negative_slope: the slope below `threshold`.
        max_value: the largest output (before the slope part), or `None` for no cap.
        threshold: the value below which inputs are damped or zeroed.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    if negative_slope == 0 and max_value is None and threshold == 0:
        return ops.relu(x)  # the common case: one cheap op the dense kernel can also fuse
    return general_relu(x, negative_slope, max_value, threshold)


def relu6(x):
    """ReLU capped at 6: `min(max(x, 0), 6)`."""
    return ops.relu6(x)


def sigmoid(x):
    """Logistic sigmoid."""
    return ops.sigmoid(x)


def tanh(x):
    """Hyperbolic tangent."""
    return ops.tanh(x)


def softmax(x, axis=-1):
    """Softmax over the last axis."""
    return ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    """Log-softmax over the last axis."""
    return ops.log_softmax(x, axis=axis)


def elu(x, alpha=1.0):
    """Exponential linear unit."""
    return ops.elu(x, alpha)


def selu(x):
    """Scaled exponential linear unit."""
    return ops.selu(x)


def leaky_relu(x, negative_slope=0.2):
    """Leaky ReLU with Keras's default slope 0.2."""
    return ops.leaky_relu(x, negative_slope)


def gelu(x, approximate=False):
    """Gaussian error linear unit (exact erf form by default, as `keras.activations.gelu`)."""
    return ops.gelu(x, approximate=approximate)


def silu(x):
    """`x * sigmoid(x)`."""
    return ops.silu(x)


swish = silu


def softplus(x):
    """`log(1 + exp(x))`."""
    return ops.softplus(x)


def softsign(x):
    """`x / (|x| + 1)`."""
    return ops.softsign(x)


def exponential(x):
    """`exp(x)`."""
    return ops.exp(x)


def hard_sigmoid(x):
    """Piecewise linear sigmoid: 0 for `x <= -3`, 1 for `x >= 3`, `x / 6 + 0.5` between."""
    return ops.hard_sigmoid(x)


def hard_silu(x):
    """Hard SiLU (hard swish): `x * hard_sigmoid(x)`."""
    return ops.hard_silu(x)


hard_swish = hard_silu


def mish(x):
    """`x * tanh(softplus(x))`."""
    return ops.mish(x)


def log_sigmoid(x):
    """`log(sigmoid(x))`, stable in both tails."""
    return ops.log_sigmoid(x)


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: `max(x, 0) + alpha * min(0, exp(x / alpha) - 1)`."""
    return ops.celu(x, alpha)


def hard_tanh(x):
    """`clip(x, -1, 1)`."""
    return ops.hard_tanh(x)


_BY_NAME = {
    "linear": linear, "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax,
    "log_softmax": log_softmax, "elu": elu, "selu": selu, "leaky_relu": leaky_relu,
    "gelu": gelu, "silu": silu, "swish": swish, "softplus": softplus, "relu6": relu6,
    "softsign": softsign, "exponential": exponential, "hard_sigmoid": hard_sigmoid,
    "hard_silu": hard_silu, "hard_swish": hard_swish, "mish": mish,
    "log_sigmoid": log_sigmoid, "celu": celu, "hard_tanh": hard_tanh,
}


def get(identifier):
    """Returns the activation function for a name, a callable or `None` (linear).

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    raise ValueError(
        f"Unknown activation: {identifier!r}. Valid names are: {sorted(_BY_NAME)}."
    )


def fused_form(activation, allowed=None):
    """`(name, alpha)` when the dense kernel (or, with `allowed` the names it takes, another
    fused op) can apply `activation` itself, else `None`."""
    name = serialize(activation)
    if name in FUSABLE and _BY_NAME[name] is activation and (allowed is None or name in allowed):
        return FUSABLE[name]
    return None


def serialize(activation):
    """The name of an activation function (for `get_config`)."""
    for name, fn in _BY_NAME.items():
        if fn is activation:
            return name
    return getattr(activation, "__name__", str(activation))


deserialize = get
