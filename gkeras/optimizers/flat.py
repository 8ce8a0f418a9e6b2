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

Views keep everything else working unchanged: layers read `variable.data`, saving reads and
`assign` writes in place, and `optimizer.variables` still lists one slot array per variable.

NumPy backend only (hence `np` here): on a GPU every per-variable pass is one kernel launch
already, and the plan has not been measured there.
"""

import numpy as np

from gkeras.backend import backend_of

# Elements per block: five float32 blocks (gradient, weights, two slots, a temporary) stay
# well inside a 2 MiB L2 cache. Variables at least this large are updated in place, blocked.
BLOCK = 65536


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
        # the blocks of each large variable: (index, flat views of data and slots per block)
        self._large_blocks = []
        for i in self.large:
            v = variables[i]
            data = v.data.reshape(-1)
            slots = {k: s.reshape(-1) for k, s in slots_by_id[id(v)].items()}
            blocks = [(slice(a, a + BLOCK), data[a:a + BLOCK],
                       {k: s[a:a + BLOCK] for k, s in slots.items()})
                      for a in range(0, data.size, BLOCK)]
            self._large_blocks.append((i, v.data, blocks))

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
        self._small_blocks = [
            (slice(a, a + BLOCK), self.params[a:a + BLOCK],
             {k: s[a:a + BLOCK] for k, s in self.slots.items()})
            for a in range(0, self.params.size, BLOCK)
        ]

    def matches(self, variables):
        """Whether `variables` are exactly the planned ones, each still reading its arrays."""
        if len(variables) != len(self.ids):
            return False
        for v, view, key in zip(variables, self.views, self.ids):
            if id(v) != key or (view is not None and v.data is not view):
                return False
        for i, data, _ in self._large_blocks:
            if variables[i].data is not data:
                return False
        return True

    def blocks(self, grads):
        """`(gradient, weights, slots)` arrays to run the update on, covering every variable.

        Args:
            grads: one gradient array per variable, in `variables` order.
        """
        out = []
        if self.small:
            flat = self.grads
            # axis=None flattens every gradient on the way in: one call for all of them
            np.concatenate([grads[i] for i in self.small], axis=None, out=flat)
            out += [(flat[index], w, s) for index, w, s in self._small_blocks]
        for i, _, blocks in self._large_blocks:
            g = grads[i].reshape(-1)
            out += [(g[index], w, s) for index, w, s in blocks]
        return out


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

