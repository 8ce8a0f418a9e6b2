"""Array helpers for preparing data: `to_categorical` and `normalize`."""

import numpy as np

from gkeras.autodiff import Tensor
from gkeras.backend import backend_of


def _to_host(x):
    if isinstance(x, Tensor):
        x = x.data
    if hasattr(x, "__cuda_array_interface__"):
        return backend_of(x).to_numpy(x)
    return np.asarray(x)


def to_categorical(x, num_classes=None):
    """Converts a class vector (integers) to a binary class matrix (one-hot encoding).

    E.g. for use with `categorical_crossentropy`. A trailing axis of size 1, as in labels
    shaped `(n, 1)`, is dropped before the class axis is appended.

    Args:
        x: array-like of class values, integers from 0 to `num_classes - 1`.
        num_classes: total number of classes; `None` infers it as `max(x) + 1`.

    Returns:
        A float64 NumPy array with the class axis last, of shape `x.shape + (num_classes,)`.
        For a gkeras Tensor input, a Tensor of `floatx()` on the same backend.

    Example:

    >>> gkeras.utils.to_categorical([0, 1, 2, 3], num_classes=4)
    array([[1., 0., 0., 0.],
           [0., 1., 0., 0.],
           [0., 0., 1., 0.],
           [0., 0., 0., 1.]])
    """
    labels = _to_host(x)
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            raise ValueError(
                "to_categorical expects integer class values; received non-integer floats "
                f"such as {labels[labels != np.round(labels)][:3].tolist()}."
            )
    elif labels.dtype.kind not in "iub":
        raise TypeError(
            f"to_categorical expects integer class values; received dtype {labels.dtype}."
        )
    labels = labels.astype(np.int64)
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = labels.reshape(-1)
    if num_classes is None:
        if flat.size == 0:
            raise ValueError("Cannot infer num_classes from an empty `x`; pass num_classes.")
        num_classes = int(flat.max()) + 1
    if isinstance(num_classes, bool) or int(num_classes) != num_classes or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer; received {num_classes!r}.")
    num_classes = int(num_classes)
    bad = flat[(flat < 0) | (flat >= num_classes)]
    if bad.size:
        raise ValueError(
            f"Class values must be in [0, {num_classes}) for num_classes={num_classes}; "
            f"received {bad[:3].tolist()}."
        )
    categorical = np.zeros((flat.size, num_classes))
    categorical[np.arange(flat.size), flat] = 1.0
    categorical = categorical.reshape(shape + (num_classes,))
    if isinstance(x, Tensor):
        from gkeras.config import floatx

        bk = backend_of(x.data)
        return Tensor(bk.asarray(categorical.astype(floatx())))
    return categorical


def _tensor_normalize(x, axis, order):
    from gkeras import ops

    magnitude = ops.abs(x)
    if order == np.inf:
        norm = ops.max(magnitude, axis=axis, keepdims=True)
    elif order == 2:
        norm = ops.sqrt(ops.sum(ops.square(x), axis=axis, keepdims=True))
    else:
        norm = ops.power(
            ops.sum(ops.power(magnitude, order), axis=axis, keepdims=True), 1.0 / order
        )
    # zero vectors stay zero instead of becoming NaN: divide them by 1
    safe = ops.add(norm, ops.cast(ops.equal(norm, 0.0), norm.dtype))
    return ops.divide(x, safe)


def normalize(x, axis=-1, order=2):
    """Normalizes an array to unit norm along an axis.

    Vectors whose norm is zero are left unchanged (all zeros) rather than divided by zero.

    Args:
        x: array to normalize (NumPy array, array-like, or gkeras Tensor).
        axis: the axis along which to normalize; `None` normalizes the flattened array.
        order: the norm's order, as for `numpy.linalg.norm` on vectors (e.g. 2 for L2,
            1 for L1, `numpy.inf` for the largest absolute value).

    Returns:
        A normalized copy of `x`: a NumPy array, or a Tensor for a Tensor input.
    """
    if isinstance(order, bool) or not isinstance(order, (int, float, np.integer, np.floating)):
        raise TypeError(f"`order` must be a number; received {order!r}.")
    if isinstance(x, Tensor):
        if not (order == np.inf or order > 0):
            raise ValueError(f"For a Tensor, `order` must be positive or inf; received {order}.")
        if axis is None:
            from gkeras import ops

            return ops.reshape(_tensor_normalize(ops.reshape(x, (-1,)), 0, order), x.shape)
        return _tensor_normalize(x, axis, order)
    array = _to_host(x)
    if axis is None:
        norm = np.linalg.norm(array.reshape(-1), order)
        return array / (norm if norm != 0 else 1)
    if not isinstance(axis, (int, np.integer)) or not -array.ndim <= axis < array.ndim:
        raise ValueError(
            f"`axis` must be an integer in [{-array.ndim}, {array.ndim}) for an input of "
            f"shape {array.shape}; received {axis!r}."
        )
    norm = np.linalg.norm(array, order, axis, keepdims=True)
    norm[norm == 0] = 1
    return array / norm
