"""A small reverse-mode autodiff engine (first-order gradients).

A `Tensor` wraps one backend array. A `Function` maps raw arrays to raw arrays in `forward`
and maps output gradients to input gradients in `backward`; calling it on tensors records
the graph. `Tensor.backward()` walks that graph once in generation order, accumulates
gradients on the leaves that require them and frees everything else as it goes.

Gradients are raw arrays, never Tensors, so the engine is first-order only by construction.
"""

import contextlib
import heapq
import operator
import threading
import weakref

import numpy as np

from gkeras import backend as backend_module
from gkeras.backend import backend_of


class _GradMode:
    enabled = True


class _Recorder(threading.local):
    records = None  # per thread: a data worker's ops never land in the training step's trace
    literals = None


_recorder = _Recorder()


class Recording:
    """While entered, every Function call of this thread is appended to `calls` as
    `(function, constructor state, inputs, outputs)`, and `literals` maps `id(tensor)` to the
    Tensors made from Python numbers for them (`x * 2`; held, so no id is reused): the trace
    of a training step that `gkeras.training.traced_step` replays. Costs one attribute check
    per call otherwise."""

    def __init__(self):
        self.calls = []
        self.literals = {}

    def __enter__(self):
        if _recorder.records is not None:
            raise RuntimeError("A Recording is already active; recordings do not nest.")
        _recorder.records, _recorder.literals = self.calls, self.literals
        return self

    def __exit__(self, *exc):
        _recorder.records = _recorder.literals = None
        return False


class _SetGradMode(contextlib.ContextDecorator):
    """Sets the grad mode for a `with` block (or a decorated function), then restores it.

    A class rather than a generator context manager: `no_grad()` wraps every metric update
    and prediction step, and entering a plain object costs a fraction of a generator's.
    """

    mode = False

    def __init__(self):
        self._previous = []  # a stack: one object may be entered again (a recursive function)

    def __enter__(self):
        self._previous.append(_GradMode.enabled)
        _GradMode.enabled = self.mode

    def __exit__(self, *exc):
        _GradMode.enabled = self._previous.pop()
        return False


class no_grad(_SetGradMode):  # noqa: N801  (lowercase like torch.no_grad: used as a function)
    """Context manager that records no graph: ops run on raw arrays and keep nothing for backward.

    Example:

    >>> with no_grad():
    ...     y = ops.relu(x)   # y.requires_grad is False, nothing is kept for backward
    """

    mode = False


class enable_grad(_SetGradMode):  # noqa: N801
    """Context manager that turns graph recording back on inside `no_grad()`."""

    mode = True


def is_grad_enabled():
    """Returns whether ops called now record the graph for `backward()`."""
    return _GradMode.enabled


_NDARRAY = np.ndarray
_data_of = operator.attrgetter("data")


def _owner(array):
    """The array that owns `array`'s memory (itself unless it is a view)."""
    base = array.base
    return array if base is None else base


class Tensor:
    """An array on a backend device, with an optional place in the autodiff graph.

    Attributes:
        data: the backend array (NumPy or CuPy).
        grad: the accumulated gradient of a leaf (a raw array of the same shape) or `None`.
            Intermediate (non-leaf) tensors never keep a gradient.
        requires_grad: whether gradients flow to this tensor.
    """

    # `_keras_mask`: the validity mask a masking layer (Embedding(mask_zero=True)) attached,
    # a raw boolean array of the leading dimensions, or None
    __slots__ = ("data", "grad", "creator", "generation", "requires_grad", "_keras_mask",
                 "__weakref__")
    __array_priority__ = 200  # NumPy defers `ndarray + Tensor` to Tensor.__radd__

    def __init__(self, data, requires_grad=False):
        self.data = data
        self.grad = None
        self.creator = None
        self.generation = 0
        self.requires_grad = requires_grad
        self._keras_mask = None

    # ------------------------------------------------------------ array facts
    @property
    def shape(self):
        return self.data.shape  # NumPy and CuPy shapes are already tuples

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self):
        return self.data.size

    def __len__(self):
        return len(self.data)

    def numpy(self):
        """Returns the value as a NumPy array (copied from the device when needed)."""
        return backend_of(self.data).to_numpy(self.data)

    def __array__(self, dtype=None, copy=None):
        out = self.numpy()
        return out if dtype is None else out.astype(dtype, copy=False)

    def item(self):
        return self.numpy().item()

    def __float__(self):
        return float(self.numpy())

    def __int__(self):
        return int(self.numpy())

    def __bool__(self):
        return bool(self.numpy())

    def __repr__(self):
        return f"<Tensor: shape={self.shape}, dtype={self.dtype}, numpy=\n{self.numpy()!r}>"

    # --------------------------------------------------------------- backward
    def backward(self, grad=None, retain_graph=False):
        """Accumulates d(self)/d(leaf) into `.grad` of every leaf that requires it.

        Functions are visited from the highest generation down, so a tensor used by several
        functions (a diamond, a shared layer) receives the sum of all its gradients before
        its own creator runs. Intermediate gradients live only during the pass; afterwards
        the graph is released (inputs and saved arrays dropped) unless `retain_graph`.

        Args:
            grad: the upstream gradient (raw array or Tensor); ones when `None`.
            retain_graph: keep the graph for another `backward()` through it.
        """
        data = self.data
        if grad is None:
            grad = backend_of(data).xp.ones(data.shape, dtype=data.dtype)
            handed = set()
        else:
            grad = to_array(grad, backend_of(data))
            if tuple(grad.shape) != self.shape:
                raise ValueError(
                    f"backward: the gradient has shape {tuple(grad.shape)} but the tensor has "
                    f"shape {self.shape}."
                )
            if grad.dtype != data.dtype:
                grad = grad.astype(data.dtype)
            handed = {id(_owner(grad))}  # never store the caller's array as a leaf gradient
        if not self.requires_grad:
            return
        if self.creator is None:
            _accumulate_leaf(self, grad, handed)
            return

        # Gradients of non-leaf tensors waiting for their creator. Holding the tensor keeps
        # it (and so the weak reference from its creator) alive until it is consumed.
        pending = {id(self): (self, grad)}
        order = 0
        queue = [(-self.creator.generation, order, self.creator)]
        seen = {self.creator}
        pop, push = heapq.heappop, heapq.heappush
        while queue:
            fn = pop(queue)[2]
            refs = fn.outputs
            if refs is None:
                raise RuntimeError(
                    f"backward: the graph through {type(fn).__name__} was already freed by an "
                    "earlier backward(); pass retain_graph=True to the first call to go through "
                    "it twice."
                )
            if len(refs) == 1:  # the usual single-output function
                out = refs[0]()
                entry = pending.pop(id(out), None) if out is not None else None
                if entry is None:
                    raise RuntimeError(  # unreachable: a queued function always has a gradient
                        f"backward: no gradient reached {type(fn).__name__}."
                    )
                gxs = fn.backward(entry[1])
            else:
                gxs = fn.backward(*_output_grads(fn, refs, pending))
            inputs = fn.inputs
            if type(gxs) is not tuple:
                gxs = (gxs,)
            for x, gx in zip(inputs, gxs):
                if gx is None or not x.requires_grad:
                    continue
                data = x.data
                if gx.shape != data.shape:
                    raise RuntimeError(
                        f"{type(fn).__name__}.backward returned a gradient of shape "
                        f"{tuple(gx.shape)} for an input of shape {tuple(data.shape)}."
                    )
                if gx.dtype is not data.dtype and gx.dtype != data.dtype:
                    gx = gx.astype(data.dtype)
                creator = x.creator
                if creator is None:
                    if x.grad is None and type(gx) is _NDARRAY and gx.base is None:
                        # a fresh array no leaf holds yet: store it (the common case, inline)
                        owner = id(gx)
                        if owner not in handed:
                            handed.add(owner)
                            x.grad = gx
                            continue
                    _accumulate_leaf(x, gx, handed)
                    continue
                key = id(x)
                entry = pending.get(key)
                pending[key] = (x, gx) if entry is None else (x, entry[1] + gx)
                if creator not in seen:
                    seen.add(creator)
                    order += 1
                    push(queue, (-creator.generation, order, creator))
            if not retain_graph:
                fn.release()


def _output_grads(fn, refs, pending):
    """The gradients of a multi-output function's outputs (zeros or `None` for unused ones)."""
    gys = []
    missing = False
    for ref in refs:
        out = ref()
        entry = pending.pop(id(out), None) if out is not None else None
        if entry is None:
            missing = True
            gys.append(None)
        else:
            gys.append(entry[1])
    if missing and not fn.accepts_none_grads:
        xp = backend_of(next(g for g in gys if g is not None)).xp
        gys = [
            g if g is not None else xp.zeros(shape, dtype)
            for g, (shape, dtype) in zip(gys, fn.output_meta)
        ]
    return gys


def _accumulate_leaf(x, gx, handed):
    """Adds `gx` into leaf `x.grad`, copying it when its memory is already some leaf's grad.

    A backward may hand the same array to two inputs (`a + b` gives both `gy`); without the
    copy, an optimizer that scales one gradient in place would silently change the other.
    """
    if isinstance(gx, np.generic):
        gx = np.asarray(gx)
    if x.grad is None:
        base = gx.base
        owner = id(gx if base is None else base)
        if owner in handed:
            gx = gx.copy()
        else:
            handed.add(owner)
        x.grad = gx
    else:
        x.grad = x.grad + gx


class Function:
    """Base class of differentiable ops.

    Subclasses implement `forward(*arrays)` returning an array (or tuple of arrays) and
    `backward(*grads)` returning one gradient per input (or `None` for a non-differentiable
    one). Non-array arguments (axes, flags) are given to the constructor; arrays the backward
    needs are saved on `self` in `forward`. A Function object is used for one call only.

    `backward` must not write into the gradients it receives: the engine may hand the same
    array to several consumers. Output gradients that no consumer produced arrive as zeros,
    or as `None` when the subclass sets `accepts_none_grads = True`.
    """

    generation = 0
    inputs = ()
    outputs = ()
    output_meta = ()
    accepts_none_grads = False

    def __call__(self, *inputs):
        if "outputs" in self.__dict__:
            # a second call would overwrite what the first call's backward needs
            raise RuntimeError(
                f"This {type(self).__name__} instance is already part of a graph; create a "
                "new Function object for every call."
            )
        for t in inputs:
            if not isinstance(t, Tensor):
                inputs = as_tensors(inputs)
                break
        records = _recorder.records
        if records is not None:
            config = dict(self.__dict__)  # the constructor's state, before forward adds to it
        ys = self.forward(*map(_data_of, inputs))
        if type(ys) is not tuple:  # the usual single output, without the general bookkeeping
            # NumPy reductions return scalars; keep every Tensor's data a real array
            out = Tensor(np.asarray(ys) if isinstance(ys, np.generic) else ys)
            if records is not None:
                records.append((self, config, tuple(inputs), (out,)))
            if _GradMode.enabled:
                generation = -1
                for t in inputs:
                    if t.requires_grad and t.generation > generation:
                        generation = t.generation
                if generation >= 0:
                    self.generation = generation
                    out.creator = self
                    out.generation = generation + 1
                    out.requires_grad = True
                    self.inputs = inputs
                    self.outputs = [weakref.ref(out)]
            return out
        outputs = tuple(Tensor(np.asarray(y) if isinstance(y, np.generic) else y) for y in ys)
        if records is not None:
            records.append((self, config, tuple(inputs), outputs))
        if _GradMode.enabled:
            generation = -1
            for t in inputs:
                if t.requires_grad and t.generation > generation:
                    generation = t.generation
            if generation >= 0:
                self.generation = generation
                generation += 1
                for out in outputs:
                    out.creator = self
                    out.generation = generation
                    out.requires_grad = True
                self.inputs = inputs
                self.outputs = [weakref.ref(out) for out in outputs]
                self.output_meta = [(out.data.shape, out.data.dtype) for out in outputs]
        return list(outputs)

    def forward(self, *xs):
        raise NotImplementedError

    def backward(self, *gys):
        raise NotImplementedError

    def release(self):
        """Drops every reference kept for the backward pass (inputs and saved arrays)."""
        self.__dict__.clear()
        self.outputs = None  # marks the graph through this function as freed


def as_tensors(values):
    """Wraps raw values as Tensors on the backend of the Tensors among them.

    Python scalars take the dtype of the first float Tensor (or of the first Tensor when none
    is float), so `x * 2` keeps `x`'s dtype; a Python float next to integer tensors becomes
    `floatx()` instead of being truncated.
    """
    like = None
    all_tensors = True
    for v in values:
        if isinstance(v, Tensor):
            if like is None or (like.dtype.kind != "f" and v.dtype.kind == "f"):
                like = v
        else:
            all_tensors = False
    if all_tensors:
        return values
    bk = backend_of(like.data) if like is not None else backend_module.get_backend()
    out = []
    for value in values:
        if isinstance(value, Tensor):
            out.append(value)
        elif isinstance(value, (int, float, bool)) and like is not None:
            dtype = like.dtype
            if isinstance(value, float) and dtype.kind not in "fc":
                dtype = backend_module.floatx()
            out.append(Tensor(bk.xp.asarray(value, dtype=dtype)))
            if _recorder.literals is not None:
                _recorder.literals[id(out[-1])] = out[-1]
        else:
            out.append(Tensor(to_array(value, bk)))
    return out


def to_array(value, bk=None):
    """Converts a scalar, list, NumPy or CuPy array to an array of backend `bk`.

    Python floats (and lists of them) become `floatx()`; NumPy arrays keep their dtype.
    """
    if isinstance(value, Tensor):
        value = value.data
    bk = bk or backend_module.get_backend()
    if bk.owns(value):
        return value
    if hasattr(value, "__cuda_array_interface__"):
        value = backend_of(value).to_numpy(value)
    if type(value) in (float, list, tuple):
        arr = np.asarray(value)
        if arr.dtype.kind == "f":
            arr = arr.astype(backend_module.floatx())
        value = arr
    return bk.asarray(value)


def as_tensor(value):
    """Returns `value` as a Tensor (placed on the active backend when it is not one already)."""
    return value if isinstance(value, Tensor) else Tensor(to_array(value))
