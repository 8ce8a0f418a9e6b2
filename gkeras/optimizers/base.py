"""`Optimizer`: the shared machinery of every optimizer (`keras.optimizers.Optimizer`).

Updates run on raw backend arrays, in place, outside the autodiff graph: a subclass's
`update_step` writes into the variable's array and into its own slot arrays (created once
per variable by `build`). The base class handles what Keras's base optimizer does around
that: loss-scale unscaling, gradient accumulation, clipping, decoupled weight decay, the
learning-rate schedule, constraints, the moving average of the weights and the iteration
count.
"""

import inspect
import re
import warnings

import numpy as np

from gkeras.autodiff import Tensor
from gkeras.backend import backend_of
from gkeras.optimizers import flat as flat_module
from gkeras.optimizers import schedules as schedules_module


def _positive_or_none(value, name):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or value < 0):
        raise ValueError(f"Argument `{name}` must be a non-negative float or None. "
                         f"Received: {name}={value!r}")


# How often (in updates) `Optimizer._flush_subnormal_state` runs: an entry spends at most this
# many steps subnormal, and the flush costs about three passes over the state each time.
SUBNORMAL_FLUSH_EVERY = 32


def flush_subnormal(array):
    """Sets the subnormal entries of a floating-point backend array to zero, in place."""
    if array.dtype.kind != "f":
        return
    xp = backend_of(array).xp
    xp.copyto(array, 0, where=xp.abs(array) < xp.finfo(array.dtype).tiny)


class Optimizer:
    """Base class of optimizers.

    Subclasses implement `build_slots(variable)` (the state arrays one variable needs) and
    `update_step(gradient, variable, slots, learning_rate)` (one in-place update).

    Args:
        learning_rate: a float, a `LearningRateSchedule`, or a callable taking the step
            (or no argument) and returning the rate.
        weight_decay: if set, decoupled weight decay: each update first does
            `w -= w * weight_decay * learning_rate`.
        clipnorm: if set, each gradient is scaled so its L2 norm is at most this.
        clipvalue: if set, gradients are clipped to `[-clipvalue, clipvalue]`.
        global_clipnorm: if set, all gradients are scaled together so their joint L2 norm is
            at most this. Only one of the three clipping arguments may be set.
        use_ema: keep an exponential moving average of the weights.
        ema_momentum: the average's momentum (`avg = m * avg + (1 - m) * w`).
        ema_overwrite_frequency: every this many iterations, copy the average into the
            weights (otherwise `finalize_variable_values` does it at the end of training).
        loss_scale_factor: if set, gradients are divided by it (see `scale_loss`).
        gradient_accumulation_steps: if set (>= 2), the weights change every this many calls,
            with the mean of the accumulated gradients.
        name: name of the optimizer.
    """

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if "lr" in kwargs:
            warnings.warn("The `lr` argument is deprecated, use `learning_rate` instead.",
                          DeprecationWarning, stacklevel=3)
            learning_rate = kwargs.pop("lr")
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.",
                          stacklevel=3)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        self.name = name or type(self).__name__.lower()
        for value, arg in ((clipnorm, "clipnorm"), (clipvalue, "clipvalue"),
                           (global_clipnorm, "global_clipnorm"), (weight_decay, "weight_decay")):
            _positive_or_none(value, arg)
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                f"global_clipnorm={global_clipnorm}"
            )
        if gradient_accumulation_steps is not None and (
                not isinstance(gradient_accumulation_steps, int)
                or gradient_accumulation_steps < 2):
            raise ValueError(
                "`gradient_accumulation_steps` must be an integer >= 2. Received: "
                f"gradient_accumulation_steps={gradient_accumulation_steps!r}"
            )
        if use_ema:
            if not 0 <= ema_momentum <= 1:
                raise ValueError("`ema_momentum` must be in the range [0, 1]. "
                                 f"Received: ema_momentum={ema_momentum}")
            if ema_overwrite_frequency is not None and (
                    not isinstance(ema_overwrite_frequency, int) or ema_overwrite_frequency < 1):
                raise ValueError(
                    "`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                    f"ema_overwrite_frequency={ema_overwrite_frequency!r}"
                )
        self.weight_decay, self.clipnorm = weight_decay, clipnorm
        self.clipvalue, self.global_clipnorm = clipvalue, global_clipnorm
        self.use_ema, self.ema_momentum = bool(use_ema), ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        # a host counter: schedules read it every step, so it must never need a device sync
        self._iterations = np.zeros((), dtype=np.int64)
        self._learning_rate = None
        self.learning_rate = learning_rate
        self.built = False
        self._variables_tracked = []  # model variables in build order
        self._slots = {}  # id(variable) -> {slot name: array}
        self._global_slots = {}  # slot name -> array (e.g. Nadam's running product)
        self._exclude_ids, self._exclude_pattern = set(), None
        self._flat, self._flat_repacks = None, 0  # see _flat_group

    # --------------------------------------------------------------- properties
    @property
    def iterations(self):
        """The number of updates applied (an int)."""
        count = int(self._iterations)
        if self.gradient_accumulation_steps:
            return count // self.gradient_accumulation_steps
        return count

    @iterations.setter
    def iterations(self, value):
        steps = self.gradient_accumulation_steps or 1
        self._iterations[...] = int(value) * steps

    @property
    def learning_rate(self):
        """The current learning rate (a float; a schedule is evaluated at the current step)."""
        return self._current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, schedules_module.LearningRateSchedule) or (
                callable(value) and not isinstance(value, (int, float, np.number))):
            self._learning_rate = value
            self._lr_takes_step = _takes_argument(value)
            return
        if isinstance(self._learning_rate, schedules_module.LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not settable. "
                "If you need the learning rate to be settable, you should instantiate the "
                "optimizer with a float `learning_rate` argument."
            )
        if isinstance(value, Tensor):
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or (
                hasattr(value, "ndim") and value.ndim):
            raise ValueError(
                "Argument `learning_rate` should be float, or an instance of "
                "LearningRateSchedule, or a callable (that takes in the current iteration value "
                f"and returns the corresponding learning rate value). Received instead: "
                f"learning_rate={value!r}"
            )
        self._learning_rate = float(value)

    lr = learning_rate  # Keras 2's name

    def _current_learning_rate(self):
        lr = self._learning_rate
        if isinstance(lr, schedules_module.LearningRateSchedule):
            return float(lr(int(self._iterations)))
        if callable(lr):
            value = lr(int(self._iterations)) if self._lr_takes_step else lr()
            return float(value.item() if isinstance(value, Tensor) else value)
        return lr

    @property
    def variables(self):
        """The optimizer's state arrays, for saving: the iteration count first, then any
        global state, then each model variable's slots in build order."""
        out = [self._iterations]
        out.extend(self._global_slots.values())
        for variable in self._variables_tracked:
            out.extend(self._slots[id(variable)].values())
        return out

    # -------------------------------------------------------------------- build
    def build(self, var_list):
        """Creates the slot arrays of each variable in `var_list` not seen before."""
        new = [v for v in var_list if id(v) not in self._slots]
        if not self.built:
            self.build_global(list(var_list))
        for variable in new:
            slots = dict(self.build_slots(variable))
            if self.use_ema:
                slots["average"] = variable.data.copy()
            if self.gradient_accumulation_steps:
                slots["gradient_accumulator"] = _zeros_like(variable)
            self._slots[id(variable)] = slots
            self._variables_tracked.append(variable)
        self.built = True

    def build_global(self, var_list):
        """Creates state shared by all variables (none by default)."""

    def build_slots(self, variable):
        """Returns `{name: array}`: the state one variable needs (none by default)."""
        return {}

    # -------------------------------------------------------------------- apply
    def apply_gradients(self, grads_and_vars):
        """Applies `(gradient, variable)` pairs; returns the iteration count."""
        pairs = list(grads_and_vars)
        if not pairs:
            return self.iterations
        grads, variables = zip(*pairs)
        self.apply(list(grads), list(variables))
        return self.iterations

    def apply(self, grads, trainable_variables=None):
        """Updates `trainable_variables` in place from their gradients.

        Args:
            grads: one raw backend array (or Tensor, or `None` for no gradient) per variable.
            trainable_variables: the `gkeras.Variable`s; by default the variables the
                optimizer was built with.
        """
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already be "
                    "built on a list of variables. Call `optimizer.build(trainable_variables)` "
                    "first."
                )
            trainable_variables = self._variables_tracked
        trainable_variables = list(trainable_variables)
        if len(grads) != len(trainable_variables):
            raise ValueError(
                f"{self.name}: got {len(grads)} gradients for {len(trainable_variables)} "
                "variables; pass one gradient per variable."
            )
        grads, trainable_variables = self._checked_pairs(grads, trainable_variables)
        steps = self.gradient_accumulation_steps
        group = self._flat
        if steps or group is None or not group.matches(trainable_variables):
            self.build(trainable_variables)  # (a matching plan means all are built)
            group = None if steps else self._flat_group(trainable_variables)
        if group is None and self.loss_scale_factor is not None:
            grads = [g / self.loss_scale_factor for g in grads]
        if group is not None:
            self._update_flat(group, grads)
        elif steps:
            accumulators = [self._slots[id(v)]["gradient_accumulator"]
                            for v in trainable_variables]
            if (int(self._iterations) + 1) % steps == 0:
                grads = [(g + acc) / steps for g, acc in zip(grads, accumulators)]
                self._update(grads, trainable_variables)
                for acc in accumulators:
                    acc[...] = 0
            else:
                for g, acc in zip(grads, accumulators):
                    acc += g
        else:
            self._update(grads, trainable_variables)
        if self.use_ema:
            self._update_moving_average()
        self._iterations += 1
        if int(self._iterations) % SUBNORMAL_FLUSH_EVERY == 0:
            self._flush_subnormal_state()
        for variable in trainable_variables:
            if variable.constraint is not None:
                projected = variable.constraint(variable.data)
                variable.data[...] = projected.data if isinstance(projected, Tensor) else projected

    def _flush_subnormal_state(self):
        """Sets the subnormal entries of every slot to zero.

        State that decays geometrically wherever the gradient stays zero (Adam's first
        moment, SGD's momentum, RMSprop's average) sinks into the subnormal range and, in
        float32, stays there for good (the last decay step rounds back to the same value).
        x86 CPUs compute on subnormals through microcode, 10-100x slower: on an MNIST MLP a
        third of Adam's state was subnormal after two epochs and the optimizer step ran 20x
        slower. TensorFlow runs with flush-to-zero for this reason; NumPy has no such switch,
        so the optimizer flushes its own state every `SUBNORMAL_FLUSH_EVERY` steps. Values
        below the smallest normal float (1.2e-38 in float32) carry no usable signal here.
        """
        buffers = {}  # packed slots are views of a few flat buffers: flush each buffer once
        for slots in self._slots.values():
            for array in slots.values():
                base = array.base if type(array.base) is type(array) else array
                buffers[id(base)] = base
        for array in buffers.values():
            flush_subnormal(array)

    def _checked_pairs(self, grads, variables):
        kept_grads, kept_vars, missing = [], [], []
        for g, v in zip(grads, variables):
            if g is None:
                missing.append(getattr(v, "name", repr(v)))
                continue
            if isinstance(g, Tensor):
                g = g.data
            data = v.data
            if g.shape != data.shape and tuple(g.shape) != tuple(data.shape):
                raise ValueError(
                    f"{self.name}: the gradient of variable '{getattr(v, 'path', v)}' has shape "
                    f"{tuple(g.shape)} but the variable has shape {tuple(v.shape)}."
                )
            if g.dtype is not data.dtype and g.dtype != data.dtype:
                g = g.astype(data.dtype)
            kept_grads.append(g)
            kept_vars.append(v)
        if not kept_grads:
            raise ValueError("No gradients provided for any variable.")
        if missing:
            warnings.warn(
                f"Gradients do not exist for variables {missing} when minimizing the loss. If "
                "using `model.compile()`, did you forget to provide a `loss` argument?",
                stacklevel=3,
            )
        return kept_grads, kept_vars

    def _update(self, grads, variables):
        grads = self._clip_gradients(grads)
        lr = self._current_learning_rate()
        self._apply_weight_decay(variables, lr)
        self.before_update_steps(lr)
        for g, v in zip(grads, variables):
            self.update_step(g, v.data, self._slots[id(v)], lr)

    # ----------------------------------------------------------- flat updates
    def _flat_group(self, variables):
        """The `FlatGroup` planning the update of `variables`, or `None` where a plain
        per-variable update is needed.

        Only the built-in update rules (elementwise by construction) are planned, and not
        with per-variable clipping (`clipnorm`). A list of variables that keeps changing
        stops being planned after a few tries, since each plan repacks the small weights.
        """
        group = self._flat
        if group is not None and group.matches(variables):
            return group
        if self.clipnorm or self._flat_repacks >= 3 or not self._elementwise_rule():
            return None
        if not flat_module.packable(variables, self._slots):
            return None
        self._flat_repacks += group is not None
        self._flat = flat_module.FlatGroup(variables, self._slots)
        return self._flat

    def _elementwise_rule(self):
        """Whether `update_step` and `build_slots` come from classes that declare an
        elementwise rule (`_elementwise_update = True`); a subclass overriding either one
        without declaring it gets per-variable updates."""
        cls = type(self)
        for method in ("update_step", "build_slots", "before_update_steps"):
            owner = next(c for c in cls.__mro__ if method in c.__dict__)
            if owner is not Optimizer and not owner.__dict__.get("_elementwise_update", False):
                return False
        return True

    def _update_flat(self, group, grads):
        """`_update` through a `FlatGroup`: one `update_step` per block instead of per
        variable (see `gkeras.optimizers.flat`)."""
        if self.loss_scale_factor is not None:
            grads = [g / self.loss_scale_factor for g in grads]
        grads = self._clip_gradients(grads)
        lr = self._current_learning_rate()
        self._apply_weight_decay(group.variables, lr)
        self.before_update_steps(lr)
        threads = flat_module.update_threads() if group.size >= flat_module.PARALLEL_MIN else 1
        if threads > 1:
            flat_module.run_shared(lambda share: self._update_blocks(share, lr),
                                   group.shares(grads, threads))
        else:
            self._update_blocks(group.blocks(grads), lr)

    def _update_blocks(self, blocks, learning_rate):
        for g, w, slots in blocks:
            self.update_step(g, w, slots, learning_rate)

    def before_update_steps(self, learning_rate):
        """Hook run once per update before the per-variable steps (Nadam's running product)."""

    def update_step(self, gradient, variable, slots, learning_rate):
        """Updates one variable in place.

        Args:
            gradient: the (clipped) gradient, a raw array; never written to.
            variable: the variable's raw array, to update in place.
            slots: this variable's `{name: array}` state from `build_slots`.
            learning_rate: the current learning rate (a float).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement `update_step`.")

    @property
    def _local_step(self):
        """The 1-based index of the update being applied (Adam's bias-correction `t`)."""
        return float(self.iterations + 1)

    # ------------------------------------------------------ clipping and decay
    def _clip_gradients(self, grads):
        if self.clipnorm:
            out = []
            for g in grads:
                xp = backend_of(g).xp
                norm = xp.sqrt((g * g).sum())
                # g * c / max(||g||, c): unchanged when the norm is already below c
                out.append(g * (self.clipnorm / xp.maximum(norm, self.clipnorm)).astype(g.dtype))
            return out
        if self.global_clipnorm:
            xp = backend_of(grads[0]).xp
            norm = xp.sqrt(sum((g * g).sum() for g in grads))
            c = self.global_clipnorm
            # a non-finite norm makes the scale NaN (as Keras does) instead of hiding it
            scale = c * xp.minimum(1.0 / norm, 1.0 / c) + (norm - norm)
            return [g * scale.astype(g.dtype) for g in grads]
        if self.clipvalue:
            v = self.clipvalue
            return [backend_of(g).xp.clip(g, -v, v) for g in grads]
        return grads

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exempts variables from weight decay (before the optimizer is built).

        Args:
            var_list: variables to exempt.
            var_names: substrings (regular expressions); a variable whose name contains one
                is exempt (e.g. `["bias"]`).
        """
        if self.built:
            raise ValueError(
                "`exclude_from_weight_decay()` can only be configured before the optimizer is "
                "built."
            )
        self._exclude_ids = {id(v) for v in (var_list or [])}
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _use_weight_decay(self, variable):
        if id(variable) in self._exclude_ids:
            return False
        pattern = self._exclude_pattern
        return pattern is None or pattern.search(getattr(variable, "name", "")) is None

    def _apply_weight_decay(self, variables, lr):
        if self.weight_decay is None:
            return
        factor = 1.0 - self.weight_decay * lr  # w - w * wd * lr
        for variable in variables:
            if self._use_weight_decay(variable):
                variable.data *= factor

    # ------------------------------------------------------------ moving average
    def _update_moving_average(self):
        momentum = self.ema_momentum if self.iterations != 0 else 0.0
        for variable in self._variables_tracked:
            average = self._slots[id(variable)]["average"]
            average *= momentum
            average += variable.data * (1.0 - momentum)
        freq = self.ema_overwrite_frequency
        if freq and (self.iterations + 1) % freq == 0:
            self._overwrite_with_average(self._variables_tracked)

    def _overwrite_with_average(self, var_list):
        for variable in var_list:
            variable.data[...] = self._slots[id(variable)]["average"]

    def finalize_variable_values(self, var_list):
        """At the end of training: with `use_ema`, sets the weights to their moving average."""
        if self.use_ema:
            self._overwrite_with_average([v for v in var_list if id(v) in self._slots])

    def scale_loss(self, loss):
        """Multiplies the loss by `loss_scale_factor` (gradients are divided back in `apply`)."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    # ------------------------------------------------------------------ saving
    def get_weights(self):
        """The state as NumPy arrays, in `variables` order."""
        return [backend_of(v).to_numpy(v).copy() for v in self.variables]

    def set_weights(self, weights):
        """Writes saved state (in `variables` order) into the state arrays, in place."""
        if not self.built:
            raise ValueError(
                "You are calling `set_weights()` on an optimizer that has not yet been built. "
                "Please call `optimizer.build(trainable_variables)` to create the optimizer "
                "weights before calling `set_weights()`."
            )
        current = self.variables
        if len(weights) != len(current):
            raise ValueError(
                f"Optimizer '{self.name}' has {len(current)} state arrays but {len(weights)} "
                "values were given."
            )
        for array, value in zip(current, weights):
            value = np.asarray(value)
            if tuple(value.shape) != tuple(array.shape):
                raise ValueError(
                    f"Optimizer state of shape {tuple(array.shape)} is not compatible with the "
                    f"provided weight of shape {tuple(value.shape)}."
                )
            array[...] = backend_of(array).asarray(value.astype(array.dtype, copy=False))

    def save_own_variables(self, store):
        """Writes the state into `store` (a dict-like) under keys `"0"`, `"1"`, ..."""
        for i, value in enumerate(self.get_weights()):
            store[str(i)] = value

    def load_own_variables(self, store):
        """Reads state written by `save_own_variables` (warns and skips on a count mismatch)."""
        if len(store.keys()) != len(self.variables):
            warnings.warn(
                f"Skipping variable loading for optimizer '{self.name}', because it has "
                f"{len(self.variables)} variables whereas the saved optimizer has "
                f"{len(store.keys())} variables.", stacklevel=2,
            )
            return
        self.set_weights([np.asarray(store[str(i)]) for i in range(len(self.variables))])

    # ------------------------------------------------------------------ config
    def get_config(self):
        """The constructor arguments, for `from_config` (state is not included)."""
        lr = self._learning_rate
        if isinstance(lr, schedules_module.LearningRateSchedule):
            lr = schedules_module.serialize(lr)
        elif callable(lr):
            lr = getattr(lr, "__name__", repr(lr))
        return {
            "name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue, "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules_module.deserialize(config["learning_rate"],
                                                                   custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self.learning_rate}>"


def _zeros_like(variable):
    return backend_of(variable.data).xp.zeros_like(variable.data)


def _takes_argument(fn):
    """Whether a learning-rate callable wants the step (Keras 3 callables take none)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD,
                                                   p.VAR_POSITIONAL)]
    return bool(positional)
