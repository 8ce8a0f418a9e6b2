"""A small reverse-mode autodiff engine (first-order gradients).

A `Tensor` wraps one backend array. A `Function` maps raw arrays to raw arrays in `forward`
and maps output gradients to input gradients in `backward`; calling it on tensors records
the graph. `Tensor.backward()` walks that graph once in generation order, accumulates
gradients on the leaves that require them and frees everything else as it goes.
"""

import contextlib
import heapq
import itertools
import weakref

import numpy as np

from gkeras import backend as backend_module
from gkeras.backend import backend_of


class _GradMode:
    enabled = True


@contextlib.contextmanager
def no_grad():
    """Context manager that records no graph: ops run on raw arrays and keep nothing for backward."""
    previous = _GradMode.enabled
    _GradMode.enabled = False
    try:
        yield
    finally:
        _GradMode.enabled = previous


@contextlib.contextmanager
def enable_grad():
    """Context manager that turns graph recording back on inside `no_grad()`."""
    previous = _GradMode.enabled
    _GradMode.enabled = True
    try:
        yield
    finally:
        _GradMode.enabled = previous


def is_grad_enabled():
    return _GradMode.enabled


class Tensor:
    """An array on a backend device, with an optional place in the autodiff graph.

    Attributes:
        data: the backend array (NumPy or CuPy).
        grad: the accumulated gradient (a raw array of the same shape) or `None`.
        requires_grad: whether gradients flow to this tensor.
    """

    __slots__ = ("data", "grad", "creator", "generation", "requires_grad", "__weakref__")
    __array_priority__ = 200  # NumPy defers `ndarray + Tensor` to Tensor.__radd__

    def __init__(self, data, requires_grad=False):
        self.data = data
        self.grad = None
        self.creator = None
        self.generation = 0
        self.requires_grad = requires_grad

    # ------------------------------------------------------------ array facts
    @property
    def shape(self):
        return tuple(self.data.shape)

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

        Args:
            grad: the upstream gradient (raw array or Tensor); ones when `None`.
            retain_graph: keep the graph (and intermediate gradients) for another backward.
        """
        xp = backend_of(self.data).xp
        if grad is None:
            grad = xp.ones_like(self.data)
        elif isinstance(grad, Tensor):
            grad = grad.data
        self.grad = grad

        queue, seen, order = [], set(), itertools.count()

        def push(fn):
            if fn is not None and fn not in seen:
                seen.add(fn)
                heapq.heappush(queue, (-fn.generation, next(order), fn))

        push(self.creator)
        while queue:
            fn = heapq.heappop(queue)[2]
            outputs = [ref() for ref in fn.outputs]
            gys = [o.grad if o is not None else None for o in outputs]
            present = next((g for g in gys if g is not None), None)
            if present is None:
                fn.release()
                continue
            xp = backend_of(present).xp
            gys = [
                g if g is not None else xp.zeros(shape, dtype)
                for g, (shape, dtype) in zip(gys, fn.output_meta)
            ]
            gxs = fn.backward(*gys)
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            for x, gx in zip(fn.inputs, gxs):
                if gx is None or not x.requires_grad:
                    continue
                x.grad = gx if x.grad is None else x.grad + gx
                push(x.creator)
            if not retain_graph:
                for o in outputs:
                    if o is not None and o is not self:
                        o.grad = None  # intermediate gradients are not needed any more
                fn.release()


class Function:
    """Base class of differentiable ops.

    Subclasses implement `forward(*arrays)` returning an array (or tuple of arrays) and
    `backward(*grads)` returning one gradient per input (or `None` for a non-differentiable one).
    Non-array arguments (axes, flags) are given to the constructor.
    """

    generation = 0
    inputs = ()
    outputs = ()
    output_meta = ()

    def __call__(self, *inputs):
        tensors = as_tensors(inputs)
        ys = self.forward(*[t.data for t in tensors])
        single = not isinstance(ys, tuple)
        if single:
            ys = (ys,)
        outputs = [Tensor(y) for y in ys]
        if _GradMode.enabled and any(t.requires_grad for t in tensors):
            self.generation = max(t.generation for t in tensors)
            for out in outputs:
                out.creator = self
                out.generation = self.generation + 1
                out.requires_grad = True
            self.inputs = tensors
            self.outputs = [weakref.ref(out) for out in outputs]
            self.output_meta = [(y.shape, y.dtype) for y in ys]
        else:
            self.release()
        return outputs[0] if single else outputs

    def forward(self, *xs):
        raise NotImplementedError

    def backward(self, *gys):
        raise NotImplementedError

    def release(self):
        """Drops every reference kept for the backward pass."""
        self.inputs = ()
        self.outputs = ()


def as_tensors(values):
    """Wraps raw values as Tensors on the backend (and, for Python scalars, dtype) of the others."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    if like is not None and all(isinstance(v, Tensor) for v in values):
        return values
    bk = backend_of(like.data) if like is not None else backend_module.get_backend()
    out = []
    for value in values:
        if isinstance(value, Tensor):
            out.append(value)
        elif isinstance(value, (int, float, bool)) and like is not None:
            out.append(Tensor(bk.xp.asarray(value, dtype=like.dtype)))
        else:
            out.append(Tensor(to_array(value, bk)))
    return out


def to_array(value, bk=None):
    """Converts a scalar, list, NumPy or CuPy array to an array of backend `bk`.

    Python floats become `floatx()`; NumPy arrays keep their dtype.
    """
    if isinstance(value, Tensor):
        value = value.data
    bk = bk or backend_module.get_backend()
    if bk.owns(value):
        return value
    if hasattr(value, "__cuda_array_interface__") and not bk.owns(value):
        value = backend_of(value).to_numpy(value)
    if isinstance(value, (float, list, tuple)) and not isinstance(value, bool):
        arr = np.asarray(value)
        if arr.dtype.kind == "f":
            arr = arr.astype(backend_module.floatx())
        value = arr
    return bk.asarray(value)


def as_tensor(value):
    """Returns `value` as a Tensor (placed on the active backend when it is not one already)."""
    return value if isinstance(value, Tensor) else Tensor(to_array(value))
