"""`model.summary()`: Keras 3.8's table of layers, output shapes and parameter counts.

Keras draws the table with `rich`; gkeras does not depend on `rich`, so this module lays the
table out by the same rules (checked byte for byte against Keras 3.8):

- the table is exactly `line_length` wide (by default the terminal width minus 4, capped at
  88 columns for Sequential-like tables and 108 with a "Connected to" column, 12 more with
  `show_trainable`; `shutil` reports 80 columns, so 76, when stdout is not a terminal);
- `positions` cut the line into columns; each column then gets 2 spaces of padding and the
  borders take `columns + 1` characters, so the columns are shrunk back to fit, taking the
  excess from the left column first in (banker's-rounded) equal shares;
- cells are word-wrapped to their column, a word longer than the column is cut with `…`;
  parameter counts are right-aligned, the Trainable flag centred, header cells bottom-aligned;
- the finished text is word-wrapped (title and totals) or cropped (table lines) to the width
  of the console, which is the first standard stream that is a terminal, `$COLUMNS`, or 80.
"""

import math
import os
import re
import shutil
import sys

import numpy as np

from gkeras.layers.core import InputLayer

_WORD = re.compile(r"\s*\S+\s*")
_TRAILING_SPACE = re.compile(r"\s+$")
_ELLIPSIS = "…"


# ------------------------------------------------------------------------------- sizes
def readable_size(num_bytes):
    """`268.00 B`, `21.75 KB`, ... in powers of 1024, as Keras prints sizes."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if num_bytes < 1024:
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.2f} PB"


def _weights_bytes(weights):
    # a weight shared by two layers is stored once (Keras counts unique weights for the size)
    unique = {id(w): w for w in weights}.values()
    return sum(math.prod(w.shape) * np.dtype(w.dtype).itemsize for w in unique)


def _count(weights):
    return int(sum(math.prod(w.shape) for w in weights))


class _LearningRateSlot:
    """Stands for Keras's `learning_rate` variable (a float32 scalar) in the optimizer count.

    Keras keeps a float learning rate in a variable, so its summary counts one more optimizer
    parameter than gkeras, which keeps the rate as a Python float.
    """

    shape = ()
    dtype = np.float32


def _optimizer_variables(model):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(optimizer, "built", False):
        return []
    variables = list(getattr(optimizer, "variables", None) or [])
    if isinstance(getattr(optimizer, "_learning_rate", None), float):
        # a schedule or a callable is not a variable in Keras either
        variables.insert(1, _LearningRateSlot())
    return variables


# ---------------------------------------------------------------------------- text layout
def _break_offsets(text, width, fold):
    """Where `text` is broken into lines of at most `width` characters (rich's word wrap).

    A word is kept whole unless it is longer than a line: then it gets a line of its own and is
    either chopped into pieces (`fold`) or left to be cut with `…` later.
    """
    breaks, offset = [], 0
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group(0)
        word_length = len(word.rstrip())
        if width - offset >= word_length:
            offset += len(word)
        elif word_length > width:
            if fold:
                pieces = [word[i:i + width] for i in range(0, len(word), width)]
                for piece in pieces[:-1]:
                    if start:
                        breaks.append(start)
                    start += len(piece)
                if start:
                    breaks.append(start)
                offset = len(pieces[-1])
            else:
                if start:
                    breaks.append(start)
                offset = len(word)
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    return breaks


def _split_lines(text, width, fold):
    bounds = [0] + _break_offsets(text, width, fold) + [len(text)]
    lines = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        line = text[a:b]
        if len(line) > width:  # spaces past the edge go, spaces inside the width stay
            trailing = _TRAILING_SPACE.search(line)
            if trailing:
                line = line[:len(line) - min(len(trailing.group(0)), len(line) - width)]
        lines.append(line)
    return lines


def _cut(text, width):
    return text if len(text) <= width else text[:max(width - 1, 0)] + _ELLIPSIS


def _cell_lines(text, width, align):
    """`text` wrapped to `width` characters, each line padded to exactly `width`."""
    out = []
    for line in _split_lines(text, width, fold=False):
        if align == "left":
            line = _cut(line, width).ljust(width)
        elif align == "right":
            line = _cut(line.rstrip(), width).rjust(width)
        else:  # centre, the odd space going to the right
            line = _cut(line.rstrip(), width)
            line = (" " * ((width - len(line)) // 2) + line).ljust(width)
        out.append(line)
    return out


def _column_widths(line_length, positions, num_columns):
    """Each column's width (padding included, borders not) in a table `line_length` wide."""
    requested, current = [], 0
    for position in positions:
        width = int(position * line_length) - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        requested.append(width)
        current += width
    room = line_length - (num_columns + 1)  # the borders: one per column and the right edge
    widths = [min(w + 2, room) for w in requested]  # 2 spaces of padding per cell
    excess = sum(widths) - room
    if excess > 0:
        # rich's ratio_reduce: equal shares, rounded half to even, the first column first
        shares, remaining = len(widths), excess
        for i, width in enumerate(widths):
            taken = min(width, round(remaining / shares))
            widths[i] = width - taken
            remaining -= taken
            shares -= 1
    return widths


def _draw_table(header, rows, widths, aligns):
    """The table's lines; `header` and each row hold one string per column."""

    def rule(left, fill, mid, right):
        return left + mid.join(fill * w for w in widths) + right

    def text_rows(cells, bottom):
        blocks = [_cell_lines(text, w - 2, a) for text, w, a in zip(cells, widths, aligns)]
        height = max(len(b) for b in blocks)
        blank = [" " * (w - 2) for w in widths]
        padded = []
        for block, empty in zip(blocks, blank):
            fill = [empty] * (height - len(block))
            padded.append(fill + block if bottom else block + fill)
        return [[" " + block[i] + " " for block in padded] for i in range(height)]

    lines = [rule("┏", "━", "┳", "┓")]
    lines += ["┃" + "┃".join(parts) + "┃" for parts in text_rows(header, bottom=True)]
    lines.append(rule("┡", "━", "╇", "┩"))
    for r, row in enumerate(rows):
        if r:
            lines.append(rule("├", "─", "┼", "┤"))
        lines += ["│" + "│".join(parts) + "│" for parts in text_rows(row, bottom=False)]
    lines.append(rule("└", "─", "┴", "┘"))
    return lines


def _console_width():
    """The width rich gives Keras's console: the first terminal among stdin, stdout and stderr,
    overridden by `$COLUMNS`, else 80."""
    if os.environ.get("TERM", "").lower() in ("dumb", "unknown") and _isatty(sys.stdout):
        return 80
    width = None
    for fd in (0, 1, 2):
        try:
            width = os.get_terminal_size(fd).columns
            break
        except (AttributeError, ValueError, OSError):
            continue
    columns = os.environ.get("COLUMNS")
    if columns is not None and columns.isdigit():
        width = int(columns)
    return width or 80


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# ----------------------------------------------------------------------- graph structure
def _graph_order(model):
    """Keras's layer order and node depths for a functional model.

    Layers are listed from the inputs' depth down to the outputs (depth 0), and by first visit
    of a walk from the outputs within one depth, which is how Keras 3 orders `model.layers` and
    its summary. Returns `(layers, nodes_by_depth)`.
    """
    input_ids = {id(t) for t in model.inputs}
    finished, decreasing, layer_index = set(), [], {}

    def visit(tensor):
        layer, node, _ = tensor._keras_history
        if id(node) in finished:
            return
        layer_index.setdefault(id(layer), (len(layer_index), layer))
        if not isinstance(layer, InputLayer) and id(tensor) not in input_ids:
            for parent in node.inputs:
                visit(parent)
        finished.add(id(node))
        decreasing.append(node)

    for tensor in model.outputs:
        visit(tensor)
    node_depth, layer_depth = {}, {}
    for node in reversed(decreasing):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        node_depth[id(node)] = depth
        for parent in node.inputs:
            parent_node = parent._keras_history[1]
            node_depth[id(parent_node)] = max(depth + 1, node_depth.get(id(parent_node), 0))
    nodes_by_depth = {}
    for node in decreasing:
        nodes_by_depth.setdefault(node_depth[id(node)], []).append(node)
    for tensor in model.inputs:  # an input no output depends on still gets listed
        layer = tensor._keras_history[0]
        if id(layer) not in layer_depth:
            layer_depth[id(layer)] = 0
            layer_index[id(layer)] = (-1, layer)
            nodes_by_depth.setdefault(0, []).append(tensor._keras_history[1])
    layers = sorted(layer_index.values(), key=lambda item: (-layer_depth[id(item[1])], item[0]))
    return [layer for _, layer in layers], nodes_by_depth


def _is_sequential_like(nodes_by_depth, layers):
    nodes = set()
    for depth_nodes in nodes_by_depth.values():
        if len(depth_nodes) > 1 or (depth_nodes and len(depth_nodes[0].inputs) > 1):
            return False
        nodes.update(id(n) for n in depth_nodes)
    # a layer called twice in the graph (a shared layer) needs the "Connected to" column
    return all(sum(id(n) in nodes for n in layer._inbound_nodes) <= 1 for layer in layers)


# --------------------------------------------------------------------------------- cells
def _format_shape(shape):
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _structure_text(structure):
    """One shape as `(None, 4)`; several as Keras prints them: `[(None, 2), (None, 3)]`."""
    if isinstance(structure, str):
        return structure
    if isinstance(structure, (list, tuple)) and len(structure) == 1:
        return structure[0]
    return str(structure).replace("'", "")


def _map_tensors(fn, structure):
    if isinstance(structure, dict):
        return {k: _map_tensors(fn, v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_map_tensors(fn, v) for v in structure)
    return fn(structure)


def _is_shape(value):
    return isinstance(value, tuple) and all(d is None or isinstance(d, (int, np.integer))
                                            for d in value)


def _map_shapes(fn, structure):
    if _is_shape(structure):
        return fn(structure)
    if isinstance(structure, dict):
        return {k: _map_shapes(fn, v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_map_shapes(fn, v) for v in structure)
    return fn(tuple(structure))


def _output_shape(layer):
    if layer._inbound_nodes:
        outputs = layer._inbound_nodes[-1].outputs
        return _structure_text(_map_tensors(lambda t: _format_shape(t.shape), outputs))
    build_shape = getattr(layer, "_build_input_shape", None)
    if build_shape is None:
        return "?"
    # built by a call on concrete data (a subclassed model): Keras infers the output shape
    # from the shape the layer was built for
    try:
        shapes = layer.compute_output_shape(build_shape)
    except Exception:  # noqa: BLE001 - a layer that cannot infer its shape shows "?"
        return "?"
    return _structure_text(_map_shapes(_format_shape, shapes))


def _params(layer):
    if not layer.built:
        return "0 (unbuilt)"
    return f"{layer.count_params():,}"


def _connections(layer, relevant_nodes):
    names = []
    for node in layer._inbound_nodes:
        if id(node) not in relevant_nodes:
            continue
        for tensor in node.inputs:
            parent, parent_node, index = tensor._keras_history
            names.append(f"{parent.name}[{parent._inbound_nodes.index(parent_node)}][{index}]")
    return ", ".join(names) or "-"


def _layer_range(layers, layer_range):
    if layer_range is None:
        return 0, len(layers)
    if len(layer_range) != 2:
        raise ValueError(
            "layer_range must be a list or tuple of length 2. Received: "
            f"layer_range = {layer_range} of length {len(layer_range)}"
        )
    if not all(isinstance(name, str) for name in layer_range):
        raise ValueError(f"layer_range should contain string type only. Received: {layer_range}")
    lower = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    upper = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not lower or not upper:
        raise ValueError(
            "Passed layer_names do not match the layer names in the model. "
            f"Received: {layer_range}"
        )
    if min(lower) > max(upper):
        return min(upper), max(lower) + 1
    return min(lower), max(upper) + 1


# ------------------------------------------------------------------------------ summary
def format_summary(model, line_length=None, positions=None, expand_nested=False,
                   show_trainable=False, layer_range=None):
    """The text `print_summary` prints: every line ends with a newline.

    Args:
        model: a built or unbuilt `Model`.
        line_length, positions, expand_nested, show_trainable, layer_range: as in
            `Model.summary`.

    Returns:
        The summary as one string.
    """
    from gkeras.models.functional import Functional

    relevant_nodes = set()
    if isinstance(model, Functional):
        layers, nodes_by_depth = _graph_order(model)
        sequential_like = _is_sequential_like(nodes_by_depth, layers)
        relevant_nodes = {id(n) for nodes in nodes_by_depth.values() for n in nodes}
    else:  # Sequential, and subclassed models shown as a plain list of layers
        layers, sequential_like = list(model.layers), True

    if sequential_like:
        default_length, positions = 88, positions or [0.45, 0.80, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
        aligns = ["left", "left", "right"]
    else:
        default_length, positions = 108, positions or [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        aligns = ["left", "left", "right", "left"]
    if show_trainable:
        default_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        aligns.append("center")
    line_length = line_length or min(default_length, shutil.get_terminal_size().columns - 4)
    widths = _column_widths(line_length, positions, len(header))

    def layer_rows(layer, level=0):
        prefix = "   " * level + "└ " if level else ""
        row = [f"{prefix}{layer.name} ({type(layer).__name__})", _output_shape(layer),
               _params(layer)]
        if not sequential_like:
            row.append(_connections(layer, relevant_nodes))
        if show_trainable:
            row.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        rows = [row]
        if expand_nested and getattr(layer, "layers", None):
            for inner in layer.layers:
                rows.extend(layer_rows(inner, level + 1))
        return rows

    start, stop = _layer_range(layers, layer_range)
    rows = [row for layer in layers[start:stop] for row in layer_rows(layer)]

    trainable = model.trainable_weights
    non_trainable = model.non_trainable_weights
    optimizer_vars = _optimizer_variables(model)
    total_count = _count(trainable) + _count(non_trainable) + _count(optimizer_vars)
    total_bytes = (_weights_bytes(trainable) + _weights_bytes(non_trainable)
                   + _weights_bytes(optimizer_vars))
    totals = [(" Total params: ", total_count, total_bytes),
              (" Trainable params: ", _count(trainable), _weights_bytes(trainable)),
              (" Non-trainable params: ", _count(non_trainable), _weights_bytes(non_trainable))]
    if optimizer_vars:
        totals.append((" Optimizer params: ", _count(optimizer_vars),
                       _weights_bytes(optimizer_vars)))

    console = _console_width()
    lines = _split_lines(f'Model: "{model.name}"', console, fold=True)
    lines += [line[:console] for line in _draw_table(header, rows, widths, aligns)]
    for label, count, size in totals:
        lines += _split_lines(f"{label}{count:,} ({readable_size(size)})", console, fold=True)
    return "".join(line + "\n" for line in lines)


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    """Prints `model`'s summary table as Keras 3.8 does.

    Args:
        model: the model to describe.
        line_length: total width of the table; by default the terminal width minus 4, at most
            88 (108 with a "Connected to" column, 12 more with `show_trainable`).
        positions: right edge of each column as a fraction of `line_length`.
        print_fn: called once with the whole summary (a string ending in a newline); by
            default the text is written to stdout.
        expand_nested: also list the layers of nested models, indented with `└`.
        show_trainable: add a column saying whether each layer is trainable.
        layer_range: two layer names (or regexes): show only the layers from the first match
            of the first to the last match of the second, both included.
    """
    text = format_summary(model, line_length=line_length, positions=positions,
                          expand_nested=expand_nested, show_trainable=show_trainable,
                          layer_range=layer_range)
    if print_fn is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        print_fn(text)
