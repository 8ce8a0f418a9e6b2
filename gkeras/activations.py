"""Activation functions by name, as `keras.activations`."""

from gkeras import ops

# Activations the fused dense kernel can apply in its epilogue, with their fused name and alpha.
FUSABLE = {"linear": ("linear", 0.0), "relu": ("relu", 0.0), "sigmoid": ("sigmoid", 0.0),
           "tanh": ("tanh", 0.0), "gelu": ("gelu", 0.0), "leaky_relu": ("leaky_relu", 0.2),
           "elu": ("elu", 1.0)}


def linear(x):
    """Identity: returns `x` unchanged."""
    return ops.convert_to_tensor(x)


def relu(x):
    """Rectified linear unit."""
    return ops.relu(x)


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


_BY_NAME = {
    "linear": linear, "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax,
    "log_softmax": log_softmax, "elu": elu, "selu": selu, "leaky_relu": leaky_relu,
    "gelu": gelu, "silu": silu, "swish": swish, "softplus": softplus,
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


def fused_form(activation):
    """`(name, alpha)` when the dense kernel can apply `activation` itself, else `None`."""
    name = serialize(activation)
    if name in FUSABLE and _BY_NAME[name] is activation:
        return FUSABLE[name]
    return None


def serialize(activation):
    """The name of an activation function (for `get_config`)."""
    for name, fn in _BY_NAME.items():
        if fn is activation:
            return name
    return getattr(activation, "__name__", str(activation))


deserialize = get
