"""Replaying a traced training step: what the eager engine has instead of `jit_compile`.

A training step of a plain model does the same work for every batch of the same shapes: the
same Functions, in the same order, on the same weights. `TracedSteps` records the Functions of
the forward and loss pass (`autodiff.Recording`) on two batches of one shape and, when both
recordings agree, replays the second one for every later batch of that shape within the same
`fit` (or series of `train_on_batch` calls): each recorded Function's `forward` runs again on
the new arrays, in recorded order, and the kept graph's `backward` runs again. The layers'
Python code, argument checks and the creation of Tensors, Functions and graph links (most of a
small model's step) are skipped; the arithmetic is the eager step's, so the numbers are too.

Replay is used only where it cannot change the result:

- the model is a `Sequential` or functional model whose layers all declare a traceable `call`
  (`_traceable_call = True`: everything the call does happens in the Functions it calls, so
  replaying them repeats it -- Dropout draws its mask in its op's forward, BatchNormalization
  updates its moving statistics through an op -- unlike a layer that may draw noise or keep
  state in Python); a user's subclass of such a layer must make the promise itself, since it
  may override any helper of the call. Activations, losses and weight regularizers must be
  gkeras's own; no activity regularizers, added losses, masks, distribution strategy or
  overridden step methods;
- both recordings agree on every Function's type, constructor state (a Function keeping a
  random mask or a copy of the labels would differ between batches), wiring and constants;
  the only constants allowed are the Python numbers of the ops (`x * 2`) and Tensors the
  model itself holds (the same object in both recordings), never an array computed from the
  batch, nor a view of the batch or of a result;
- every batch array reaches the graph unchanged (not as a copy or a view made outside the
  ops), so the next batch can be put in its place; a batch that passes one array twice (an
  autoencoder's `(x, x)`) is a signature of its own.

Like Keras's compiled train function, a recording reflects the model as it was: `fit` starts
afresh on every call (a layer setting changed between two `fit` calls is seen) and frees its
recordings when it ends; weights, `trainable` flags and a Sequential's `add` / `pop` are seen
at once; other settings changed while a `fit` runs (by a callback) or between `train_on_batch`
calls take effect at the next `fit` or `compile`. Anything else trains eagerly, and `blocker`
says why. `compile(jit_compile=False)` or `run_eagerly=True` turns replay off. Some built-in
layers record but never replay, because their call makes a fresh constant from the batch
shape every time (UpSampling, RepeatVector, Rescaling, ReLU with a threshold or cap).
"""

import types

import numpy as np

from gkeras.autodiff import Tensor, Variable
from gkeras.autodiff.core import Recording

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


def _is_gkeras(value):
    """Whether `value` (a function, or an object by its class) comes from gkeras itself."""
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)):
        module = value.__module__
    else:
        module = type(value).__module__
    return (module or "").startswith("gkeras.")


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
        kind = type(layer)
        if not _owner_declares(kind, "call", "_traceable_call"):
            return f"layer '{layer.name}' ({kind.__name__}) is not traceable"
        for cls in kind.__mro__:
            # a user's subclass may override any helper of the call (or `__call__` itself):
            # it must make the promise itself
            if (not cls.__module__.startswith("gkeras.") and cls is not object
                    and not cls.__dict__.get("_traceable_call", False)):
                return f"layer '{layer.name}' is of the user class {cls.__name__}"
        if getattr(layer, "activity_regularizer", None) is not None:
            return f"layer '{layer.name}' has an activity regularizer"
        activation = getattr(layer, "activation", None)
        if activation is not None and not _is_gkeras(activation):
            return f"layer '{layer.name}' has a user activation"
    for loss in model._compiled_loss.losses:
        if loss is None:
            continue
        fn = getattr(loss, "fn", None)
        if not _is_gkeras(loss) or (fn is not None and not _is_gkeras(fn)):
            return f"loss {getattr(loss, 'name', loss)!r} is not a built-in loss"
    for variable in model._step_state()[1]:
        if not _is_gkeras(variable.regularizer):
            return f"variable '{variable.name}' has a custom regularizer"
    return None


def _signature(x, y, sample_weight):
    """`(key, arrays)`: a hashable description of the batch (see `_walk`, plus which arrays
    are the same object, as an autoencoder's `(x, x)`) and its arrays in that order."""
    arrays = []
    shape = _walk((x, y, sample_weight), arrays)
    first = {}
    aliases = tuple(first.setdefault(id(a), k) for k, a in enumerate(arrays))
    return (shape, aliases), arrays


def _walk(value, arrays):
    """Describes the batch `value` (nesting, every array's shape, dtype and array type) and
    appends its arrays to `arrays` in the same order, dict entries by sorted key."""
    if isinstance(value, dict):
        return ("dict",) + tuple((k, _walk(value[k], arrays)) for k in sorted(value, key=str))
    if isinstance(value, (list, tuple)):
        return ("seq",) + tuple(_walk(v, arrays) for v in value)
    if value is None:
        return None
    data = value.data if isinstance(value, Tensor) else value
    arrays.append(data)
    return (data.shape, data.dtype.str, type(data))


def _same(a, b):
    """Exact equality of recorded constructor state and constants (arrays bit for bit)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, Variable):
        return False  # different variables, whatever their values
    if hasattr(a, "shape") and hasattr(a, "dtype") and hasattr(a, "tobytes"):
        return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()
    if isinstance(a, float):
        return a.hex() == b.hex()  # tells -0.0 from 0.0; a NaN equals itself
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _arrays_in(value):
    """The arrays anywhere in a Function's constructor state (model variables excepted)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _arrays_in(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _arrays_in(item)
    elif isinstance(value, Variable):
        return  # model state (a moving average's target), not batch data
    elif hasattr(value, "shape") and hasattr(value, "ndim") and hasattr(value, "dtype"):
        yield value.data if isinstance(value, Tensor) else value


def _memory_owner(array):
    """The array that owns `array`'s memory, through any chain of views."""
    while getattr(array, "base", None) is not None:
        array = array.base
    return array


def _fingerprint(model):
    """What a recording depends on beyond its own Functions: the layers, their `trainable`
    flags and the trainable and regularised variables (held, so no id is ever reused)."""
    variables, regularized, layers = model._step_state()
    return (tuple(variables), tuple(regularized), tuple(layers),
            tuple(bool(layer.trainable) for layer in layers))


def _same_fingerprint(a, b):
    if a is None or b is None:
        return a is b
    return all(len(u) == len(v) and all(x is y for x, y in zip(u, v)) for u, v in zip(a, b))


class _Trace:
    """One recorded forward and loss pass, summarised for comparison and replay."""

    def __init__(self, recording, feeds, result, fingerprint):
        calls = recording.calls
        self.calls = [(fn, inputs, outputs) for fn, _, inputs, outputs in calls]
        self.configs = [config for _, config, _, _ in calls]
        self.fingerprint = fingerprint
        self.problem = None
        feed_index = {}
        for k, array in enumerate(feeds):
            feed_index.setdefault(id(array), k)  # an array given twice: its first place
        batch = feeds[0].shape[0] if feeds and feeds[0].ndim else None
        produced = {}
        for i, (_, _, outputs) in enumerate(self.calls):
            for j, out in enumerate(outputs):
                produced[id(out)] = (i, j)
        # memory a constant must not share: the batch's and every recorded output's
        live = {id(_memory_owner(a)) for a in feeds}
        live |= {id(_memory_owner(out.data)) for _, _, outputs in self.calls for out in outputs}
        self.wiring, self.constants, self.feed_leaves = [], [], []
        for (fn, inputs, outputs), config in zip(self.calls, self.configs):
            name = type(fn).__name__
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
                    literal = id(t) in recording.literals
                    wires.append(("const", len(self.constants)))
                    self.constants.append((literal, t.data if literal else t))
                    if id(_memory_owner(t.data)) in live:
                        self._flag(f"{name} reads a view of the batch or of a result")
                    elif not literal and t.data.ndim and t.data.shape[0] == batch:
                        self._flag(f"{name} reads a batch-shaped constant")
            self.wiring.append((type(fn), tuple(wires), len(outputs)))
            for value in _arrays_in(config):
                if id(_memory_owner(value)) in live or (value.ndim and value.shape[0] == batch):
                    self._flag(f"{name} keeps a batch-shaped array")
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
        """Whether two recordings of one signature did the same computation: the same
        Functions, wiring and constructor state, the same literal numbers, and constants that
        are the very same model-held Tensors."""
        if (self.wiring != other.wiring or self.result_keys != other.result_keys
                or not _same_fingerprint(self.fingerprint, other.fingerprint)
                or len(self.constants) != len(other.constants)):
            return False
        for (literal, a), (literal_b, b) in zip(self.constants, other.constants):
            if literal != literal_b or not (_same(a, b) if literal else a is b):
                return False
        return all(_same(a, b) for a, b in zip(self.configs, other.configs))

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


class _SignatureState:
    """The recordings of one batch signature: how many were made, the last one while it
    waits for the next to compare with (`pending`), the one replayed, and whether replay was
    ruled out for this signature (`given_up`)."""

    def __init__(self):
        self.traces = 0
        self.pending = None
        self.replayable = None
        self.given_up = False


class TracedSteps:
    """A model's traced training steps, one per batch signature (see the module docstring)."""

    def __init__(self):
        self._states = {}  # batch signature -> _SignatureState
        self._blocker = None
        self._checked = None  # the fingerprint `_blocker` was found for

    @property
    def blocker(self):
        """Why this model trains eagerly: found ineligible, or every recording had a problem
        or disagreed (`None`: it may replay, or it was not checked yet)."""
        return self._blocker

    def reset(self):
        """Forgets every recording and frees the graphs kept for replay (at the start and end
        of every `fit`: settings changed in between are seen, and no memory stays held)."""
        for state in self._states.values():
            if state.replayable is not None:
                state.replayable.release()
        self._states = {}
        self._checked = None  # check the model again (`blocker` keeps the last finding)

    def loss_and_outputs(self, model, x, y, sample_weight):
        """`model._loss_and_outputs(x, y, sample_weight, True)`, replayed when it can be.

        Returns `(result, retain_graph)`; `retain_graph` says the graph is kept for replay,
        so `backward` must not free it and the results are overwritten by the next replay.
        """
        def eager():
            return model._loss_and_outputs(x, y, sample_weight, True), False

        if model._compiled_loss is None or not model.built:
            return eager()  # the first step builds the model (and its loss)
        if self._checked is not None and self._blocker is not None:
            return eager()  # found ineligible in this fit: no per-step checks either
        fingerprint = _fingerprint(model)
        if not _same_fingerprint(fingerprint, self._checked):
            # first step, or the layers, trainable flags or weights changed: check again
            self._blocker, self._checked = replay_blocker(model), fingerprint
        if self._blocker is not None or any(layer._added_losses for layer in fingerprint[2]):
            return eager()
        signature, feeds = _signature(x, y, sample_weight)
        state = self._states.get(signature)
        if state is None:
            if len(self._states) >= MAX_SIGNATURES:
                return eager()
            state = self._states[signature] = _SignatureState()
        trace = state.replayable
        if trace is not None:
            if _same_fingerprint(trace.fingerprint, fingerprint):
                trace.replay(feeds)
                targets = model._targets_per_output(y, trace.y_pred)
                weights = model._weights_per_output(sample_weight, len(trace.preds))
                return (trace.total, trace.per_output, targets, trace.preds, weights,
                        trace.y_pred), True
            trace.release()  # the layers or trainable variables changed since the recording
            state.replayable, state.traces = None, 0
        if state.given_up:
            return eager()
        with Recording() as recording:
            result = model._loss_and_outputs(x, y, sample_weight, True)
        trace = _Trace(recording, feeds, result, fingerprint)
        state.traces += 1
        previous, state.pending = state.pending, None
        if trace.problem is None and previous is not None and trace.same_as(previous):
            state.replayable = trace
            return result, True
        if trace.problem is not None or state.traces >= MAX_TRACES:
            # the same problem would come back with every batch; or recordings never agree
            state.given_up = True
            if all(st.given_up for st in self._states.values()):
                # nothing left to replay in this fit: say why, and skip the per-step checks
                self._blocker = trace.problem or "the recordings of a batch shape differ"
        else:
            trace.forget_graph()  # compared with the next recording, never replayed itself
            state.pending = trace
        return result, False

    # A kept graph belongs to this process and this model: copies start without one.
    def __deepcopy__(self, memo):
        return TracedSteps()

    def __getstate__(self):
        return {}

    def __setstate__(self, state):
        self.__init__()


def detached(t):
    """A graph-free Tensor on the same array (keeping its mask): what a replayed step hands
    to metrics, trackers and callers, as an eager step's freed graph would."""
    out = Tensor(t.data)
    out._keras_mask = t._keras_mask
    return out
