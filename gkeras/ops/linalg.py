"""Tensor contractions: einsum and NumPy's dot."""

import string

import numpy as np

from gkeras.autodiff import Function, as_tensors, is_grad_enabled
from gkeras.ops.math import multiply, xp_of


def _parse(subscripts, shapes):
    """Checks `subscripts` against the operand shapes; returns (input terms, output term).

    The implicit form (no `->`) gets NumPy's output: the labels used once, in alphabetical
    order.
    """
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: subscripts must be a string, got {subscripts!r}.")
    spec = subscripts.replace(" ", "")
    if "." in spec:
        raise ValueError(f"einsum: ellipsis ('...') is not supported, got {subscripts!r}.")
    if spec.count("->") > 1:
        raise ValueError(f"einsum: at most one '->' is allowed, got {subscripts!r}.")
    inputs, arrow, output = spec.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(
            f"einsum: {subscripts!r} names {len(terms)} operands but {len(shapes)} were given."
        )
    sizes = {}
    for term, shape in zip(terms, shapes):
        if any(c not in string.ascii_letters for c in term):
            raise ValueError(f"einsum: subscripts must be letters, got {subscripts!r}.")
        if len(term) != len(shape):
            raise ValueError(
                f"einsum: term {term!r} has {len(term)} labels but its operand has shape "
                f"{tuple(shape)}."
            )
        for label, n in zip(term, shape):
            if sizes.setdefault(label, n) != n:
                raise ValueError(
                    f"einsum: label {label!r} has size {sizes[label]} in one operand and {n} "
                    f"in another ({subscripts!r} with shapes {[tuple(s) for s in shapes]})."
                )
    if not arrow:
        output = "".join(sorted(c for c in sizes if inputs.count(c) == 1))
    if any(c not in sizes for c in output) or len(set(output)) != len(output):
        raise ValueError(
            f"einsum: output {output!r} must use distinct labels of the inputs ({subscripts!r})."
        )
    return terms, output


def _xp_einsum(xp, spec, *arrays):
    if xp is np:  # NumPy contracts pairwise through BLAS only when asked to optimize
        return np.einsum(spec, *arrays, optimize=True)
    return xp.einsum(spec, *arrays)


class Einsum(Function):
    def __init__(self, terms, output):
        self.terms, self.output = terms, output

    def forward(self, *arrays):
        return _xp_einsum(xp_of(arrays[0]), ",".join(self.terms) + "->" + self.output, *arrays)

    def backward(self, gy):
        xp = xp_of(gy)
        grads = []
        for i, (term, x) in enumerate(zip(self.terms, self.inputs)):
            if not x.requires_grad:
                grads.append(None)
                continue
            others = [t for j, t in enumerate(self.terms) if j != i]
            arrays = [t.data for j, t in enumerate(self.inputs) if j != i]
            # d out / d x_i: contract gy with every other operand onto x_i's labels. A label
            # only x_i has was summed away: its gradient is broadcast along it afterwards.
            seen = set(self.output).union(*others)
            kept = "".join(c for c in term if c in seen)
            g = _xp_einsum(xp, ",".join([self.output] + others) + "->" + kept, gy, *arrays)
            if len(kept) != len(term):
                g = g.reshape([n if c in seen else 1 for c, n in zip(term, x.shape)])
                full = xp.empty(x.shape, dtype=gy.dtype)
                full[...] = g
                g = full
            grads.append(g)
        return tuple(grads)


def einsum(subscripts, *operands):
    """Evaluates the Einstein summation `subscripts` on the operands.

    Args:
        subscripts: labels per operand separated by commas, optionally with `->` and the
            output labels (`"ij,jk->ik"`); without `->` the output is the labels used once,
            in alphabetical order (NumPy's implicit form). Ellipsis is not supported.
        *operands: the tensors.

    Returns:
        The contracted tensor. Labels repeated within one operand (diagonals, traces) work
        in the forward pass but have no gradient.
    """
    if not operands:
        raise ValueError("einsum needs at least one operand.")
    operands = as_tensors(list(operands))
    terms, output = _parse(subscripts, [t.shape for t in operands])
    if is_grad_enabled() and any(
        t.requires_grad and len(set(term)) != len(term) for term, t in zip(terms, operands)
    ):
        raise ValueError(
            f"einsum: a label repeated within one operand ({subscripts!r}) has no gradient; "
            "use it under no_grad() or on constants."
        )
    return Einsum(terms, output)(*operands)


def dot(x1, x2):
    """Dot product with NumPy's `dot` semantics.

    Scalars multiply; 1-D by 1-D is the inner product; otherwise the last axis of `x1` is
    contracted with the second-to-last axis of `x2` (its only axis when 1-D), and the
    remaining axes of `x1` come before those of `x2`.

    Args:
        x1: a tensor or array-like.
        x2: a tensor or array-like.

    Returns:
        The product.
    """
    x1, x2 = as_tensors((x1, x2))
    if x1.ndim == 0 or x2.ndim == 0:
        return multiply(x1, x2)
    k2 = 0 if x2.ndim == 1 else x2.ndim - 2
    if x1.shape[-1] != x2.shape[k2]:
        raise ValueError(
            f"dot: shapes {x1.shape} and {x2.shape} are not aligned: axis -1 of x1 has "
            f"{x1.shape[-1]} entries, axis {k2} of x2 has {x2.shape[k2]}."
        )
    if x1.ndim + x2.ndim > len(string.ascii_letters):
        raise ValueError("dot: the operands have too many axes together.")
    letters = iter(string.ascii_letters)
    a = [next(letters) for _ in range(x1.ndim)]
    b = [next(letters) for _ in range(x2.ndim)]
    b[k2] = a[-1]  # the contracted label
    out = a[:-1] + [c for i, c in enumerate(b) if i != k2]
    return Einsum(["".join(a), "".join(b)], "".join(out))(x1, x2)
