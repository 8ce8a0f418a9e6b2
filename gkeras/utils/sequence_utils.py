"""`pad_sequences`: variable-length sequences to one rectangular array."""

import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Pads (and truncates) sequences to a common length (`keras.utils.pad_sequences`).

    Args:
        sequences: a list of sequences (lists or arrays); each item may itself be an array
            (e.g. a feature vector per step), as long as all items share that shape.
        maxlen: the output length; the longest sequence's length by default.
        dtype: dtype of the result (`"int32"`; use `object` or a string dtype for text).
        padding: `"pre"` or `"post"`: where the padding goes.
        truncating: `"pre"` or `"post"`: which end of a longer sequence is cut.
        value: the padding value.

    Returns:
        An array of shape `(len(sequences), maxlen) + item_shape`.

    Example:

    >>> pad_sequences([[1, 2, 3], [4]], maxlen=2).tolist()
    [[2, 3], [0, 4]]
    """
    for name, choice in (("padding", padding), ("truncating", truncating)):
        if choice not in ("pre", "post"):
            raise ValueError(f'pad_sequences: `{name}` must be "pre" or "post". '
                             f"Received: {name}={choice!r}")
    try:
        lengths = [len(s) for s in sequences]
    except TypeError:
        raise ValueError("pad_sequences: `sequences` must be a list of sequences (iterables "
                         "with a length); one of them has no length.") from None
    if maxlen is None:
        maxlen = max(lengths, default=0)
    if int(maxlen) < 0:
        raise ValueError(f"pad_sequences: `maxlen` must be >= 0. Received: maxlen={maxlen}")
    maxlen = int(maxlen)
    item_shape = ()
    for s in sequences:  # the shape of one step, from the first non-empty sequence
        if len(s):
            item_shape = np.asarray(s).shape[1:]
            break
    is_text = np.issubdtype(np.dtype(dtype), np.str_) or np.dtype(dtype) == object
    if isinstance(value, str) and not is_text:
        raise ValueError(f"pad_sequences: a string padding value ({value!r}) needs a string or "
                         f"object dtype, not {dtype!r}.")
    out = np.full((len(sequences), maxlen) + item_shape, value, dtype=dtype)
    for i, s in enumerate(sequences):
        if not len(s) or not maxlen:
            continue
        trunc = np.asarray(s, dtype=dtype)
        trunc = trunc[-maxlen:] if truncating == "pre" else trunc[:maxlen]
        if trunc.shape[1:] != item_shape:
            raise ValueError(f"pad_sequences: sequence {i} has steps of shape {trunc.shape[1:]}, "
                             f"unlike the others' {item_shape}.")
        if padding == "post":
            out[i, :len(trunc)] = trunc
        else:
            out[i, maxlen - len(trunc):] = trunc
    return out
