"""`Lion` (EvoLved Sign Momentum, Chen et al. 2023): updates of fixed size `learning_rate`
in the direction of the sign of an interpolated momentum (Keras 3's formulas)."""

import numbers

from gkeras.backend import backend_of
from gkeras.optimizers.base import Optimizer, _zeros_like


class Lion(Optimizer):
    """Lion: sign-of-momentum updates, with one slot per variable.

    ```
    w -= lr * sign(beta_1 * m + (1 - beta_1) * g)
    m = beta_2 * m + (1 - beta_2) * g
    ```

    Every coordinate moves by exactly `lr` (or 0), so Lion usually wants a learning rate 3-10x
    smaller than Adam's.

    Args:
        learning_rate: float, schedule or callable; 0.001 by default.
        beta_1: interpolation between the momentum and the gradient in the update, in (0, 1].
        beta_2: decay of the momentum.
        name: name of the optimizer.
        **kwargs: the common arguments of `Optimizer` (`weight_decay`, `clipnorm`, ...).
    """

    _elementwise_update = True  # the rule may run on all variables at once (flat.py)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name="lion", **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name,
                         **kwargs)
        for value, arg in ((beta_1, "beta_1"), (beta_2, "beta_2")):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(f"Argument `{arg}` must be a float. Received: {arg}={value!r}")
        if not 0 < beta_1 <= 1:
            raise ValueError(
                "Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer "
                f"degenerates to SignSGD. Received: beta_1={beta_1}."
            )
        self.beta_1, self.beta_2 = beta_1, beta_2

    def build_slots(self, variable):
        return {"momentum": _zeros_like(variable)}

    def update_step(self, gradient, variable, slots, learning_rate):
        xp = backend_of(variable).xp
        m = slots["momentum"]
        tmp = xp.multiply(gradient, 1.0 - self.beta_1)
        tmp += m * self.beta_1
        xp.sign(tmp, out=tmp)
        tmp *= learning_rate
        variable -= tmp
        xp.multiply(gradient, 1.0 - self.beta_2, out=tmp)
        m *= self.beta_2
        m += tmp

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2})
        return config
