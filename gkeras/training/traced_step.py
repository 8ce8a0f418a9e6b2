"""Replaying a traced training step: what the eager engine has instead of `jit_compile`.

A training step of a plain model does the same work for every batch of the same shapes: the
same Functions, in the same order, on the same weights. `TracedSteps` records the Functions of
the forward and loss pass (`autodiff.Recording`) on two batches of one shape and, when both
recordings agree, replays the second one for every later batch of that shape: each recorded
Function's `forward` runs again on the new arrays, in recorded order, and the kept graph's
`backward` runs again. The layers' Python code, argument checks and the creation of Tensors,
Functions and graph links (most of a small model's step) are skipped; the arithmetic is the
eager step's, so the numbers are too.

Replay is used only where it cannot change the result:

- the model is a `Sequential` or functional model whose layers all declare a traceable `call`
  (`_traceable_call = True`: everything the call does happens in the Functions it calls, so
  replaying them repeats it -- Dropout draws its mask in its op's forward, BatchNormalization
  updates its moving statistics through an op -- unlike a user's layer that may draw noise or
  keep state in Python), with built-in losses and weight regularizers, and no activity
  regularizers, masks, distribution strategy or overridden step methods;
- both recordings agree on every Function's type, constructor state (a Function keeping a
  random mask or a copy of the labels would differ between batches), wiring and constants;
- every batch array reaches the graph unchanged, so the next batch can be put in its place.

Anything else trains eagerly. `compile(jit_compile=False)` turns replay off.
"""

import numpy as np

from gkeras.autodiff import Tensor, Variable
from gkeras.autodiff.core import Recording
from gkeras.layers.node import flatten

# Batch signatures (shapes, dtypes, structure) kept per model: the full batch and a ragged
# last one are the usual two.
MAX_SIGNATURES = 4
# Recordings of one signature that may disagree before that signature trains eagerly for good.
MAX_TRACES = 3


def _owner_declares(cls, method, flag):
    """Whether the class that defines `method` for `cls` sets `flag` itself (a subclass that
    overrides the method does not inherit the promise)."""
    owner = next((c for c in cls.__mro__ if method in c.__dict__), None)
    return owner is not None and owner.__dict__.get(flag, False)


def _from_gkeras(obj):
    return type(obj).__module__.startswith("gkeras.")


def replay_blocker(model):
    """Why `model`'s training step may not be replayed, or `None` when it may."""
    from gkeras.training.trainer import Trainer

    cls = type(model)
    for method in ("train_step", "_loss_and_outputs"):
        if getattr(cls, method) is not getattr(Trainer, method):
            return f"the model overrides {method}"
    if model._distribution is not None:
        return "a distribution strategy is active"
    for layer in model._all_layers():
        if not _owner_declares(type(layer), "call", "_traceable_call"):
            return f"layer '{layer.name}' ({type(layer).__name__}) is not traceable"
        if getattr(layer, "activity_regularizer", None) is not None:
            return f"layer '{layer.name}' has an activity regularizer"
    for loss in model._compiled_loss.losses:
        if loss is None:
            continue
        fn = getattr(loss, "fn", None)
        if not _from_gkeras(loss) or (fn is not None and not
                                      getattr(fn, "__module__", "").startswith("gkeras.")):
            return f"loss {getattr(loss, 'name', loss)!r} is not a built-in loss"
    for variable in model._step_state()[1]:
        if not _from_gkeras(variable.regularizer):
            return f"variable '{variable.name}' has a custom regularizer"
    return None


def _signature(x, y, sample_weight):
    """A hashable key of the batch: its nesting and every array's shape and dtype."""

    def describe(value):
        if isinstance(value, dict):
            return ("dict",) + tuple((k, describe(value[k])) for k in sorted(value))
        if isinstance(value, (list, tuple)):
            return ("seq",) + tuple(describe(v) for v in value)
        if value is None:
            return None
        data = value.data if isinstance(value, Tensor) else value
        return (tuple(data.shape), data.dtype.str, type(data).__name__)

    return describe((x, y, sample_weight))


def _same(a, b):
    """Equality for recorded constructor state and constants (arrays by value)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if hasattr(a, "shape") and hasattr(a, "dtype"):
        return a.shape == b.shape and a.dtype == b.dtype and bool((a == b).all())
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


class _Trace:
    """One recorded forward and loss pass, summarised for comparison and replay."""

    def __init__(self, calls, feeds, result, fingerprint):
        self.calls = [(fn, inputs, outputs) for fn, _, inputs, outputs in calls]
        self.configs = [config for _, config, _, _ in calls]
        self.fingerprint = fingerprint
        feed_index = {id(array): k for k, array in enumerate(feeds)}
        batch = feeds[0].shape[0] if feeds and feeds[0].ndim else None
        produced = {}
        for i, (_, _, outputs) in enumerate(self.calls):
            for j, out in enumerate(outputs):
                produced[id(out)] = (i, j)
        self.problem = None
        self.wiring, self.constants, self.feed_leaves = [], [], []
        for fn, inputs, outputs in self.calls:
            wires = []
            for t in inputs:
                if id(t) in produced:
                    wires.append(("out",) + produced[id(t)])
                elif isinstance(t, Variable):
                    wires.append(("var", id(t)))
                elif id(t.data) in feed_index:
                    wires.append(("feed", feed_index[id(t.data)]))
                    self.feed_leaves.append((t, feed_index[id(t.data)]))
                else:
                    wires.append(("const", len(self.constants)))
                    self.constants.append(t.data)
                    if t.data.ndim and t.data.shape[0] == batch:
                        # batch-shaped but not a batch array: most likely a copy of one
                        self._flag(f"{type(fn).__name__} reads a batch-shaped constant")
            self.wiring.append((type(fn), tuple(wires), len(outputs)))
            for value in _arrays_in(self.configs[len(self.wiring) - 1]):
                if id(value) in feed_index or (value.ndim and value.shape[0] == batch):
                    self._flag(f"{type(fn).__name__} keeps a batch-shaped array")
            if any(t._keras_mask is not None for t in (*inputs, *outputs)):
                self._flag("a tensor carries a mask")
        total, per_output, _, preds, _, y_pred = result
        self.total, self.per_output, self.preds, self.y_pred = total, per_output, preds, y_pred
        self.result_keys = [produced.get(id(t)) for t in [total, *per_output, *preds]]
        if None in self.result_keys:
            self._flag("a loss or prediction does not come from a recorded Function")

    def _flag(self, problem):
        self.problem = self.problem or problem  # the first one found

    def same_as(self, other):
        """Whether two recordings of one signature did the same computation."""
        return (self.wiring == other.wiring and self.result_keys == other.result_keys
                and self.fingerprint == other.fingerprint
                and len(self.constants) == len(other.constants)
                and all(_same(a, b) for a, b in zip(self.constants, other.constants))
                and all(_same(a, b) for a, b in zip(self.configs, other.configs)))

    def forget_graph(self):
        """Keeps only what `same_as` compares: this recording will not be replayed."""
        self.calls = self.feed_leaves = None
        self.total = self.per_output = self.preds = self.y_pred = None

    def release(self):
        """Frees the kept graph and the arrays it holds."""
        for fn, _, _ in self.calls or ():
            fn.release()
        self.forget_graph()

    def replay(self, feeds):
        """Runs the recorded forward pass on the batch arrays `feeds`."""
        for leaf, k in self.feed_leaves:
            leaf.data = feeds[k]
        for fn, inputs, outputs in self.calls:
            ys = fn.forward(*[t.data for t in inputs])
            if len(outputs) == 1:
                outputs[0].data = np.asarray(ys) if isinstance(ys, np.generic) else ys
            else:
                for out, value in zip(outputs, ys):
                    out.data = np.asarray(value) if isinstance(value, np.generic) else value


def _arrays_in(config):
    """The arrays among a Function's constructor attributes (one level into sequences)."""
    for value in config.values():
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(item, Variable):
                continue  # model state (a moving average's target), not batch data
            if hasattr(item, "shape") and hasattr(item, "ndim") and hasattr(item, "dtype"):
                yield item


def _fingerprint(variables, regularized, layers):
    """Identifies the layers and the trainable and regularised variables a step works on."""
    return (tuple(map(id, variables)), tuple(map(id, regularized)), tuple(map(id, layers)))


class TracedSteps:
    """A model's traced training steps, one per batch signature (see the module docstring)."""

    def __init__(self):
        self._states = {}  # batch signature -> _SignatureState
        self._blocker = None
        self._checked = None  # the fingerprint `_blocker` was found for

    @property
    def blocker(self):
        """Why this model trains eagerly (`None` while replay is possible or not yet known)."""
        return self._blocker

    def loss_and_outputs(self, model, x, y, sample_weight):
        """`model._loss_and_outputs(x, y, sample_weight, True)`, replayed when it can be.

        Returns `(result, retain_graph)`; `retain_graph` says the graph is kept for replay,
        so `backward` must not free it.
        """
        if model._compiled_loss is None or not model.built:
            # the first step builds the model (and its loss): the weights are not all there yet
            return model._loss_and_outputs(x, y, sample_weight, True), False
        variables, regularized, layers = model._step_state()
        fingerprint = _fingerprint(variables, regularized, layers)
        if fingerprint != self._checked:
            # first step, or the layers / trainable weights changed: check again
            self._blocker, self._checked = replay_blocker(model), fingerprint
        if self._blocker is not None or fingerprint != self._checked:
            return model._loss_and_outputs(x, y, sample_weight, True), False
        signature = _signature(x, y, sample_weight)
        state = self._states.get(signature)
        if state is None:
            if len(self._states) >= MAX_SIGNATURES:
                return model._loss_and_outputs(x, y, sample_weight, True), False
            state = self._states[signature] = _SignatureState()
        feeds = [t.data if isinstance(t, Tensor) else t
                 for t in flatten((x, y, sample_weight)) if t is not None]
        trace = state.replayable
        if trace is not None:
            if trace.fingerprint == fingerprint:
                trace.replay(feeds)
                targets = model._targets_per_output(y, trace.y_pred)
                weights = model._weights_per_output(sample_weight, len(trace.preds))
                return (trace.total, trace.per_output, targets, trace.preds, weights,
                        trace.y_pred), True
            trace.release()  # the layers or trainable variables changed since the recording
            state.replayable = None
            state.traces = 0
        if state.traces >= MAX_TRACES:
            return model._loss_and_outputs(x, y, sample_weight, True), False
        with Recording() as calls:
            result = model._loss_and_outputs(x, y, sample_weight, True)
        trace = _Trace(calls, feeds, result, fingerprint)
        state.traces += 1
        previous, state.last = state.last, None
        if trace.problem is not None:
            state.traces = MAX_TRACES  # the same problem would come back with every batch
            return result, False
        if previous is not None and trace.same_as(previous):
            state.replayable = trace
            return result, True
        trace.forget_graph()  # compared with the next recording, never replayed itself
        state.last = trace
        return result, False


class _SignatureState:
    """The recordings of one batch signature: how many, the last one, the replayed one."""

    def __init__(self):
        self.traces = 0
        self.last = None
        self.replayable = None
