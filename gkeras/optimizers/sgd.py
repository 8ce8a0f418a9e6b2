"""`SGD`: gradient descent with optional (Nesterov) momentum."""

from gkeras.optimizers.base import Optimizer, _zeros_like


class SGD(Optimizer):
    """Gradient descent, optionally with momentum (Keras's formulation).

    Without momentum: `w -= learning_rate * g`. With momentum:

    ```
    m = momentum * m - learning_rate * g
    w += m                                         # plain
    w += momentum * m - learning_rate * g          # nesterov
    ```

    Args:
        learning_rate: float, schedule or callable; 0.01 by default.
        momentum: float in [0, 1] accelerating descent along consistent directions.
        nesterov: whether to apply Nesterov momentum.
        name: name of the optimizer.
        **kwargs: the common arguments of `Optimizer` (`weight_decay`, `clipnorm`,
            `clipvalue`, `global_clipnorm`, `use_ema`, ...).
    """

    _elementwise_update = True  # the rule may run on all variables at once (flat.py)

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name="SGD", **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name,
                         **kwargs)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or (
                not 0 <= momentum <= 1):
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: {momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def build_slots(self, variable):
        return {"momentum": _zeros_like(variable)} if self.momentum != 0 else {}

    def update_step(self, gradient, variable, slots, learning_rate):
        if self.momentum == 0:
            variable -= gradient * learning_rate
            return
        m = slots["momentum"]
        step = gradient * learning_rate
        m *= self.momentum
        m -= step  # m = momentum * m - lr * g
        if self.nesterov:
            variable -= step
            variable += m * self.momentum
        else:
            variable += m

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
