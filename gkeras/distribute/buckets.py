"""Bucketing: many small arrays travel as a few large contiguous buffers.

One collective per weight would pay the per-message latency dozens of times a step; packing
consecutive arrays of one dtype and device into buffers of about `cap_bytes` pays it once or
a few times (the idea behind Horovod's tensor fusion and PyTorch DDP's gradient buckets).
"""

from gkeras.backend import backend_of


def plan_buckets(arrays, cap_bytes):
    """Groups consecutive arrays of one dtype and backend into buckets of at most `cap_bytes`.

    An array larger than the cap gets a bucket of its own.

    Args:
        arrays: backend arrays.
        cap_bytes: the largest bucket, in bytes.

    Returns:
        A list of buckets, each a list of indices into `arrays`.
    """
    buckets, current, current_key, current_bytes = [], [], None, 0
    for i, array in enumerate(arrays):
        key = (array.dtype, backend_of(array).name)
        if current and (key != current_key or current_bytes + array.nbytes > cap_bytes):
            buckets.append(current)
            current, current_bytes = [], 0
        current.append(i)
        current_key = key
        current_bytes += array.nbytes
    if current:
        buckets.append(current)
    return buckets


def pack(arrays, bucket, scales=None):
    """One fresh contiguous 1-D buffer holding `arrays[i]` for `i` in `bucket`, in order.

    Args:
        arrays: backend arrays.
        bucket: indices into `arrays` (one dtype and backend).
        scales: optional per-array factors (one per entry of `arrays`); runs of equal
            factors are applied with one multiply each.

    Returns:
        The buffer (a new array: the inputs are never written).
    """
    xp = backend_of(arrays[bucket[0]]).xp
    buffer = xp.concatenate([arrays[i].reshape(-1) for i in bucket])
    if scales is not None:
        start = 0
        run_start, run_scale = 0, None
        for i in bucket:
            if scales[i] != run_scale:
                _scale(buffer, run_start, start, run_scale)
                run_start, run_scale = start, scales[i]
            start += arrays[i].size
        _scale(buffer, run_start, start, run_scale)
    return buffer


def _scale(buffer, start, stop, factor):
    if factor is None or factor == 1 or stop == start:
        return
    buffer[start:stop] *= buffer.dtype.type(factor)


def unpack(buffer, arrays, bucket):
    """Views of `buffer` shaped like `arrays[i]` for `i` in `bucket` (the inverse of `pack`)."""
    views, start = [], 0
    for i in bucket:
        size = arrays[i].size
        views.append(buffer[start:start + size].reshape(arrays[i].shape))
        start += size
    return views


def allreduce_arrays(comm, arrays, cap_bytes, scales=None):
    """Sums `scales[i] * arrays[i]` over all ranks, bucketed; returns new arrays.

    Args:
        comm: a `Communicator`.
        arrays: backend arrays (every rank passes the same shapes and dtypes in order).
        cap_bytes: bucket size cap in bytes.
        scales: optional per-array factors applied before the sum.

    Returns:
        A list of arrays (views of fresh buffers), one per input.
    """
    out = [None] * len(arrays)
    for bucket in plan_buckets(arrays, cap_bytes):
        buffer = comm.allreduce(pack(arrays, bucket, scales))
        for i, view in zip(bucket, unpack(buffer, arrays, bucket)):
            out[i] = view
    return out


def broadcast_arrays(comm, arrays, cap_bytes, root=0):
    """Every rank gets `root`'s values of `arrays`, bucketed; returns new arrays."""
    out = [None] * len(arrays)
    for bucket in plan_buckets(arrays, cap_bytes):
        buffer = comm.broadcast(pack(arrays, bucket), root=root)
        for i, view in zip(bucket, unpack(buffer, arrays, bucket)):
            out[i] = view
    return out
