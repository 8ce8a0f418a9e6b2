"""`model.summary()`: Keras 3's table of layers, output shapes and parameter counts."""

import math
import shutil

import numpy as np

from gkeras.layers.core import InputLayer
from gkeras.layers.node import flatten


def readable_size(num_bytes):
    """`268.00 B`, `21.75 KB`, ... in powers of 1024, as Keras prints sizes."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if num_bytes < 1024:
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.2f} PB"


def _weights_bytes(weights):
    return sum(math.prod(w.shape) * np.dtype(w.dtype).itemsize for w in weights)


def _count(weights):
    return int(sum(math.prod(w.shape) for w in weights))


def _format_shape(shape):
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _output_shape(layer):
    if isinstance(layer, InputLayer):
        return _format_shape(layer.batch_shape)
    if not layer._inbound_nodes:
        return "?"
    outputs = flatten(layer._inbound_nodes[-1].outputs)
    shapes = [_format_shape(t.shape) for t in outputs]
    return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"


def _params(layer):
    if not layer.built:
        return "0 (unbuilt)"
    return f"{layer.count_params():,}"


def _is_sequential_like(model, layers):
    from gkeras.models.functional import Functional

    if not isinstance(model, Functional):
        return True
    for layer in layers:
        nodes = [n for n in layer._inbound_nodes if n in model._nodes]
        if len(nodes) > 1 or any(len(n.inputs) > 1 for n in nodes):
            return False
    inputs_used = {}
    for node in model._nodes:
        for t in node.inputs:
            inputs_used[id(t)] = inputs_used.get(id(t), 0) + 1
    return all(count == 1 for count in inputs_used.values())


def _connections(model, layer):
    lines = []
    for node in layer._inbound_nodes:
        if node not in model._nodes:
            continue
        for t in node.inputs:
            parent, parent_node, index = t._keras_history
            node_index = parent._inbound_nodes.index(parent_node)
            lines.append(f"{parent.name}[{node_index}][{index}]")
    return lines or ["-"]


def _render(columns, rows, widths, aligns):
    """Draws the table with Keras's box characters; each cell may hold several lines."""
    def cell(text, width, align):
        return " " + (text.rjust(width - 2) if align == "right" else text.ljust(width - 2)) + " "

    def line(left, fill, mid, right):
        return left + mid.join(fill * w for w in widths) + right

    out = [line("┏", "━", "┳", "┓")]
    out.append("┃" + "┃".join(cell(c, w, a) for c, w, a in zip(columns, widths, aligns)) + "┃")
    out.append(line("┡", "━", "╇", "┩"))
    for r, row in enumerate(rows):
        height = max(len(c) for c in row)
        for i in range(height):
            parts = [cell(c[i] if i < len(c) else "", w, a) for c, w, a in zip(row, widths, aligns)]
            out.append("│" + "│".join(parts) + "│")
        if r < len(rows) - 1:
            out.append(line("├", "─", "┼", "┤"))
    out.append(line("└", "─", "┴", "┘"))
    return out


def print_summary(model, line_length=None, positions=None, print_fn=None, show_trainable=False):
    """Prints `model`'s summary table through `print_fn` (`print` by default)."""
    layers = list(model.layers)
    sequential_like = _is_sequential_like(model, layers)
    if sequential_like:
        columns, aligns = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
        default_length, positions = 88, positions or [0.45, 0.80, 1.0]
    else:
        columns = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        aligns = ["left", "left", "right", "left"]
        default_length, positions = 108, positions or [0.3, 0.56, 0.74, 1.0]
    if show_trainable:
        columns.append("Trainable")
        aligns.append("left")
        positions = [p * 0.9 for p in positions] + [1.0]
        default_length += 12
    line_length = line_length or min(default_length, shutil.get_terminal_size().columns - 4)

    rows = []
    for layer in layers:
        row = [[f"{layer.name} ({type(layer).__name__})"], [_output_shape(layer)],
               [_params(layer)]]
        if not sequential_like:
            row.append(_connections(model, layer))
        if show_trainable:
            row.append(["Y" if layer.trainable else "N"] if layer.weights else ["-"])
        rows.append(row)

    # Column widths follow `positions` over the line, then grow to fit their longest entry.
    inner = line_length - (len(columns) + 1)
    bounds = [int(p * inner) for p in positions]
    widths = [b - a for a, b in zip([0] + bounds[:-1], bounds)]
    for i in range(len(columns)):
        longest = max([len(columns[i])] + [len(t) for row in rows for t in row[i]])
        widths[i] = max(widths[i], longest + 2)

    trainable = model.trainable_weights
    non_trainable = model.non_trainable_weights
    optimizer = getattr(model, "optimizer", None)
    optimizer_vars = list(getattr(optimizer, "variables", []) or []) if optimizer is not None and \
        getattr(optimizer, "built", False) else []
    total = trainable + non_trainable + optimizer_vars

    emit = print_fn or print
    lines = [f'Model: "{model.name}"'] + _render(columns, rows, widths, aligns)
    lines.append(f" Total params: {_count(total):,} ({readable_size(_weights_bytes(total))})")
    lines.append(f" Trainable params: {_count(trainable):,} "
                 f"({readable_size(_weights_bytes(trainable))})")
    lines.append(f" Non-trainable params: {_count(non_trainable):,} "
                 f"({readable_size(_weights_bytes(non_trainable))})")
    if optimizer_vars:
        lines.append(f" Optimizer params: {_count(optimizer_vars):,} "
                     f"({readable_size(_weights_bytes(optimizer_vars))})")
    for text in lines:
        emit(text)
