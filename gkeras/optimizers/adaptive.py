"""Per-coordinate adaptive optimizers: `RMSprop`, `Adagrad`, `Adadelta` (Keras 3 formulas).

In all three, epsilon is added inside the square root, as in Keras.
"""

from gkeras.backend import backend_of
from gkeras.optimizers.base import Optimizer, _zeros_like


class RMSprop(Optimizer):
    """RMSprop: divides the gradient by a running root mean square of recent gradients.

    ```
    v = rho * v + (1 - rho) * g^2
    a = rho * a + (1 - rho) * g                      # centered only
    step = lr * g / sqrt(v - a^2 + epsilon)          # v + epsilon when not centered
    m = momentum * m + step;  w -= m                 # w -= step without momentum
    ```

    Args:
        learning_rate: float, schedule or callable; 0.001 by default.
        rho: decay of the running mean of squared gradients.
        momentum: momentum of the update (0 for none).
        epsilon: small constant for numerical stability.
        centered: normalise by the variance instead of the second moment.
        name: name of the optimizer.
        **kwargs: the common arguments of `Optimizer`.
    """

    _elementwise_update = True  # the rule may run on all variables at once (flat.py)

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, name="rmsprop", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho, self.momentum = rho, momentum
        self.epsilon, self.centered = epsilon, bool(centered)

    def build_slots(self, variable):
        slots = {"velocity": _zeros_like(variable)}
        if self.momentum > 0:
            slots["momentum"] = _zeros_like(variable)
        if self.centered:
            slots["average_gradient"] = _zeros_like(variable)
        return slots

    def update_step(self, gradient, variable, slots, learning_rate):
        xp = backend_of(variable).xp
        rho = self.rho
        v = slots["velocity"]
        tmp = xp.multiply(gradient, gradient)
        tmp *= 1 - rho
        v *= rho
        v += tmp
        if self.centered:
            a = slots["average_gradient"]
            xp.multiply(gradient, 1 - rho, out=tmp)
            a *= rho
            a += tmp
            xp.multiply(a, a, out=tmp)
            xp.subtract(v, tmp, out=tmp)
            tmp += self.epsilon
        else:
            xp.add(v, self.epsilon, out=tmp)
        xp.sqrt(tmp, out=tmp)
        xp.divide(gradient, tmp, out=tmp)
        tmp *= learning_rate
        if self.momentum > 0:
            m = slots["momentum"]
            m *= self.momentum
            m += tmp
            variable -= m
        else:
            variable -= tmp

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config


class Adagrad(Optimizer):
    """Adagrad: per-coordinate rates shrinking with the sum of squared gradients.

    ```
    acc += g^2
    w -= lr * g / sqrt(acc + epsilon)
    ```

    Args:
        learning_rate: float, schedule or callable; 0.001 by default.
        initial_accumulator_value: starting value of the accumulators.
        epsilon: small constant for numerical stability.
        name: name of the optimizer.
        **kwargs: the common arguments of `Optimizer`.
    """

    _elementwise_update = True  # the rule may run on all variables at once (flat.py)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name="adagrad", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def build_slots(self, variable):
        acc = _zeros_like(variable)
        acc += self.initial_accumulator_value
        return {"accumulator": acc}

    def update_step(self, gradient, variable, slots, learning_rate):
        xp = backend_of(variable).xp
        acc = slots["accumulator"]
        tmp = xp.multiply(gradient, gradient)
        acc += tmp
        xp.add(acc, self.epsilon, out=tmp)
        xp.sqrt(tmp, out=tmp)
        xp.divide(gradient, tmp, out=tmp)
        tmp *= learning_rate
        variable -= tmp

    def get_config(self):
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value,
                       "epsilon": self.epsilon})
        return config


class Adadelta(Optimizer):
    """Adadelta: step sizes from running averages of squared gradients and squared updates.

    ```
    Eg = rho * Eg + (1 - rho) * g^2
    delta = -sqrt(Ed + epsilon) / sqrt(Eg + epsilon) * g
    Ed = rho * Ed + (1 - rho) * delta^2
    w += lr * delta
    ```

    Args:
        learning_rate: float, schedule or callable; 0.001 by default.
        rho: decay of the running averages.
        epsilon: small constant for numerical stability.
        name: name of the optimizer.
        **kwargs: the common arguments of `Optimizer`.
    """

    _elementwise_update = True  # the rule may run on all variables at once (flat.py)

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name="adadelta",
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho, self.epsilon = rho, epsilon

    def build_slots(self, variable):
        return {"accumulated_grad": _zeros_like(variable),
                "accumulated_delta_var": _zeros_like(variable)}

    def update_step(self, gradient, variable, slots, learning_rate):
        xp = backend_of(variable).xp
        rho = self.rho
        eg, ed = slots["accumulated_grad"], slots["accumulated_delta_var"]
        delta = xp.multiply(gradient, gradient)
        delta *= 1 - rho
        eg *= rho
        eg += delta
        denominator = xp.add(eg, self.epsilon)
        xp.sqrt(denominator, out=denominator)
        xp.add(ed, self.epsilon, out=delta)
        xp.sqrt(delta, out=delta)
        delta *= gradient
        delta /= denominator
        xp.negative(delta, out=delta)
        xp.multiply(delta, delta, out=denominator)
        denominator *= 1 - rho
        ed *= rho
        ed += denominator
        delta *= learning_rate
        variable += delta

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config
