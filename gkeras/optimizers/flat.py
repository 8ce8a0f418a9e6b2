"""Fewer, cache-friendly passes for elementwise optimizer updates.

The update rules of the built-in optimizers are elementwise, so they may run on any
partition of the weights and give exactly the per-variable result. `FlatGroup` uses that in
two ways:

- Small variables (biases, small kernels) are laid out back to back in one flat buffer per
  role: every `Variable.data` and slot entry is rebound to its view of that buffer, the
  step's gradients are copied in with a single concatenation, and the update runs once for
  all of them: a handful of array operations per step instead of a handful per variable,
  which is most of an optimizer's cost on small models.
- Large variables keep their own arrays (copying their gradients would cost a pass over
  memory) and are updated block by block: the update's sequence of passes then runs on
  blocks already in the L2 cache instead of streaming the whole array through memory once
  per pass (the CPU analogue of a fused kernel).
- Large updates are shared between threads (`update_threads()`: the CPUs the process may
  use), each taking a contiguous run of blocks; the BLAS threads are idle while the
  optimizer runs. Elementwise rules on disjoint blocks give the same result in any order.

Views keep everything else working unchanged: layers read `variable.data`, saving reads and
`assign` writes in place, and `optimizer.variables` still lists one slot array per variable.

NumPy backend only (hence `np` here): on a GPU every per-variable pass is one kernel launch
already, and the plan has not been measured there.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from gkeras.backend import backend_of

# Elements per block: five float32 blocks (gradient, weights, two slots, a temporary) stay
# well inside a 2 MiB L2 cache. Variables at least this large are updated in place, blocked.
BLOCK = 65536
# Elements per block when threads share an update: NumPy releases the GIL inside each array
# operation, but a thread then waits to take it back; larger blocks mean fewer hand-offs,
# which cost more than the cache misses they save (measured: 2 threads on 64 K-element
# blocks were slower than one thread, on 128 K-element blocks 1.4x faster).
THREAD_BLOCK = 1 << 17
# Updates smaller than this (in elements) run on one thread: too little work to share.
PARALLEL_MIN = 2 * THREAD_BLOCK
_THREADS = None  # update_threads(), computed once
_POOL = None  # the update threads, started on first use


class FlatGroup:
    """The update plan for one list of variables.

    Attributes:
        variables: the variables, in the order their gradients arrive.
        params: the flat buffer of the small variables (`None` when fewer than two).
        slots: `{slot name: flat buffer}` of the small variables' slots.
    """

    def __init__(self, variables, slots_by_id):
        self.variables = list(variables)
        self.ids = [id(v) for v in variables]
        small = [i for i, v in enumerate(variables) if v.data.size < BLOCK]
        if len(small) < 2:
            small = []
        self.small = small
        self.large = [i for i in range(len(variables)) if i not in set(small)]
        self.params, self.grads, self.slots = None, None, {}
        self.views = [None] * len(variables)  # the data each packed variable must still read
        if small:
            self._pack([variables[i] for i in small], slots_by_id)
        # each large variable: (index, its array, flat views of its data and slots)
        self._large = []
        for i in self.large:
            v = variables[i]
            slots = {k: s.reshape(-1) for k, s in slots_by_id[id(v)].items()}
            self._large.append((i, v.data, v.data.reshape(-1), slots))
        self.size = sum(v.data.size for v in variables)
        self._blocks_by_size = {}

    def _pack(self, variables, slots_by_id):
        first = variables[0].data
        total = sum(v.data.size for v in variables)
        self.params = np.empty(total, dtype=first.dtype)
        self.grads = np.empty(total, dtype=first.dtype)
        spans, start = [], 0
        for v in variables:
            spans.append((start, start + v.data.size))
            start += v.data.size
        for index, v, (a, b) in zip(self.small, variables, spans):
            view = self.params[a:b].reshape(v.data.shape)
            view[...] = v.data
            v.data = view
            self.views[index] = view
        for name in slots_by_id[id(variables[0])]:
            flat = np.empty(total, dtype=first.dtype)
            for v, (a, b) in zip(variables, spans):
                own = slots_by_id[id(v)]
                view = flat[a:b].reshape(v.data.shape)
                view[...] = own[name]
                own[name] = view
            self.slots[name] = flat

    def matches(self, variables):
        """Whether `variables` are exactly the planned ones, each still reading its arrays."""
        if len(variables) != len(self.ids):
            return False
        for v, view, key in zip(variables, self.views, self.ids):
            if id(v) != key or (view is not None and v.data is not view):
                return False
        for i, data, _, _ in self._large:
            if variables[i].data is not data:
                return False
        return True

    def _views(self, size):
        """`(small, large)`: `(slice, weights, slots)` views of blocks of `size` elements, of
        the packed buffers and of each large variable (built once per size)."""
        views = self._blocks_by_size.get(size)
        if views is None:
            small = _blocked(self.params, self.slots, size) if self.small else []
            large = [(i, _blocked(data, slots, size)) for i, _, data, slots in self._large]
            views = self._blocks_by_size[size] = (small, large)
        return views

    def blocks(self, grads, size=BLOCK):
        """`(gradient, weights, slots)` arrays to run the update on, covering every variable
        in blocks of at most `size` elements.

        Args:
            grads: one gradient array per variable, in `variables` order.
            size: elements per block.
        """
        small, large = self._views(size)
        out = []
        if self.small:
            flat = self.grads
            # axis=None flattens every gradient on the way in: one call for all of them
            np.concatenate([grads[i] for i in self.small], axis=None, out=flat)
            out += [(flat[index], w, s) for index, w, s in small]
        for i, blocks in large:
            g = grads[i].reshape(-1)
            out += [(g[index], w, s) for index, w, s in blocks]
        return out

    def shares(self, grads, count):
        """The blocks of `blocks(grads, THREAD_BLOCK)` split into `count` runs of about equal
        size, one per thread."""
        blocks = self.blocks(grads, THREAD_BLOCK)
        target = self.size / count
        shares, done = [[] for _ in range(count)], 0
        for block in blocks:
            shares[min(count - 1, int(done / target))].append(block)
            done += block[1].size
        return [share for share in shares if share]


def _blocked(data, slots, size):
    return [(slice(a, a + size), data[a:a + size], {k: s[a:a + size] for k, s in slots.items()})
            for a in range(0, data.size, size)]


def update_threads():
    """How many threads share a large flat update: the CPUs this process may run on, at most
    the `OMP_NUM_THREADS` / `OPENBLAS_NUM_THREADS` setting when one is given, at most 4."""
    global _THREADS
    if _THREADS is None:
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cpus = os.cpu_count() or 1
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            value = os.environ.get(name, "")
            if value.isdigit() and int(value) > 0:
                cpus = min(cpus, int(value))
        _THREADS = max(1, min(cpus, 4))
    return _THREADS


def _forget_pool():
    global _POOL
    _POOL = None  # a forked child has none of the pool's threads: it starts its own


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def run_shared(update, shares):
    """Runs `update(share)` for every share: the first on this thread, the others on the
    update pool's threads, and returns once all are done (re-raising the first error)."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=3, thread_name_prefix="gkeras-update")
    futures = [_POOL.submit(update, share) for share in shares[1:]]
    try:
        update(shares[0])
    finally:
        for future in futures:
            future.result()


def packable(variables, slots_by_id):
    """Whether one plan can cover `variables`: same backend and float dtype, contiguous
    arrays, and every slot array shaped and typed like its variable, under the same names."""
    if not variables:
        return False
    first = variables[0].data
    bk = backend_of(first)
    if bk.xp is not np:
        # planned for the CPU, where per-operation overhead and cache misses dominate; on a
        # GPU each variable's update is already one launch per pass (not yet measured there)
        return False
    dtype = first.dtype
    if dtype.kind != "f":
        return False
    names = None
    seen = set()
    for v in variables:
        data = v.data
        if id(v) in seen or not bk.owns(data) or data.dtype != dtype:
            return False
        if not data.flags.c_contiguous:
            return False
        seen.add(id(v))
        slots = slots_by_id.get(id(v))
        if slots is None:
            return False
        if names is None:
            names = list(slots)
        elif list(slots) != names:
            return False
        for array in slots.values():
            if (not bk.owns(array) or array.shape != data.shape or array.dtype != dtype
                    or not array.flags.c_contiguous):
                return False
    return True

