"""Drawing models (`plot_model`, `model_to_dot`) and training curves (`plot_history`).

`model_to_dot` writes Graphviz's DOT language itself, so it needs nothing installed.
Rendering an image (`plot_model(..., to_file="model.png")`) runs Graphviz's `dot` program;
`.dot` / `.gv` files are written without it. `plot_history` needs matplotlib
(`pip install gkeras[plot]`).
"""

import os
import shutil
import subprocess
import uuid

_TEXT_FORMATS = ("dot", "gv")
_RANKDIRS = ("TB", "LR", "BT", "RL")


class DotGraph(str):
    """The DOT source of a model graph (a `str`), with pydot-like helpers to render it.

    `model_to_dot(model).create(format="svg")` returns the rendered bytes, as with the
    `pydot.Dot` Keras returns.
    """

    def to_string(self):
        """The DOT source text."""
        return str(self)

    def create(self, prog="dot", format="png"):
        """Renders the graph with Graphviz and returns the image bytes."""
        return _run_graphviz(str(self), format, prog=prog)

    def write(self, path, format="raw", prog="dot"):
        """Writes the DOT text (`format="raw"` / `"dot"`) or a rendered image to `path`."""
        data = (str(self).encode("utf-8") if format in ("raw", "dot", "gv")
                else _run_graphviz(str(self), format, prog=prog))
        _atomic_write(os.fspath(path), data)
        return True


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True,
                 rankdir="TB", expand_nested=False, dpi=200, subgraph=False,
                 show_layer_activations=False, show_trainable=False, splines="ortho"):
    """Converts a model to Graphviz's DOT language.

    Sequential models are drawn as a chain of their layers, functional models as their
    graph of layer calls (input layers included), and subclassed models as one box.

    Args:
        model: a built `gkeras.Model` (or any layer).
        show_shapes: show each layer's input and output shapes.
        show_dtype: show each layer's output dtype.
        show_layer_names: show layer names (the class name is always shown).
        rankdir: `"TB"` draws top to bottom, `"LR"` left to right (also `"BT"`, `"RL"`).
        expand_nested: draw nested Sequential / functional models as dashed clusters of
            their layers instead of single boxes.
        dpi: the image resolution in dots per inch.
        subgraph: return the model as a dashed cluster (`subgraph cluster_...`) to paste
            into another graph instead of a whole `digraph`.
        show_layer_activations: show the activation of layers that have one.
        show_trainable: mark layers with weights as trainable or non-trainable.
        splines: how edges are drawn (`"ortho"`, `"spline"`, `"polyline"`, `"line"`, ...).

    Returns:
        A `DotGraph`: the DOT source as a string (with `create()` to render it).

    Raises:
        ValueError: when the model is not built or an option is invalid.
    """
    from gkeras.layers.layer import Layer  # here: gkeras.utils loads before the layers

    if not isinstance(model, Layer):
        raise TypeError(
            f"model_to_dot expects a gkeras Model (or Layer); got {type(model).__name__}."
        )
    if rankdir not in _RANKDIRS:
        raise ValueError(f"Invalid rankdir {rankdir!r}: expected one of {list(_RANKDIRS)}.")
    if not model.built:
        raise ValueError(
            "This model has not yet been built. Build the model first by calling `build()` or "
            "by calling the model on a batch of data."
        )
    options = {"show_shapes": show_shapes, "show_dtype": show_dtype,
               "show_layer_names": show_layer_names,
               "show_layer_activations": show_layer_activations,
               "show_trainable": show_trainable}
    drawing = _Drawing(options, expand_nested)
    drawing.add_model(model, as_cluster=subgraph)
    if subgraph:
        return DotGraph("\n".join(drawing.lines + drawing.edge_lines()) + "\n")
    header = [
        f"digraph {_quote(model.name)} {{",
        f'  graph [rankdir="{rankdir}", concentrate=true, dpi={_number(dpi)}, '
        f"splines={_quote(str(splines))}, fontname=\"Helvetica\"];",
        '  node [shape="plaintext", fontname="Helvetica", margin="0"];',
    ]
    return DotGraph("\n".join(header + drawing.lines + drawing.edge_lines() + ["}"]) + "\n")


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=True, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, splines="ortho"):
    """Draws a model's graph into a file.

    The file's extension picks the format: `.dot` / `.gv` get the DOT text (no Graphviz
    needed); anything else (`.png`, `.svg`, `.pdf`, ...; `.png` when there is none) is
    rendered by Graphviz's `dot` program, which must be installed (e.g. `apt-get install
    graphviz`).

    Args:
        model: a built `gkeras.Model`.
        to_file: the output file name.
        show_shapes, show_dtype, show_layer_names, rankdir, expand_nested, dpi,
            show_layer_activations, show_trainable, splines: as in `model_to_dot`.

    Returns:
        `None` (the drawing is in `to_file`).

    Raises:
        ImportError: when an image format is asked for and Graphviz's `dot` is not installed.

    Example:

    ```python
    gkeras.utils.plot_model(model, to_file="model.png", show_shapes=True)
    ```
    """
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir,
                       expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable, splines=splines)
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:].lower() or "png"
    if extension in _TEXT_FORMATS:
        data = str(dot).encode("utf-8")
    else:
        data = _run_graphviz(str(dot), extension, to_file=to_file)
    directory = os.path.dirname(to_file)
    if directory:
        os.makedirs(directory, exist_ok=True)
    _atomic_write(to_file, data)


def plot_history(history, to_file="history.png", metrics=None, title=None):
    """Plots training curves: one panel per metric, with its `val_` curve beside it.

    Args:
        history: the `History` returned by `fit`, or its `history` dict (metric name to
            per-epoch values).
        to_file: the image to write (any format matplotlib writes: `.png`, `.svg`, `.pdf`);
            `None` writes nothing.
        metrics: the metric names to plot (without `val_`); all of them by default.
        title: an optional title over the panels.

    Returns:
        The matplotlib `Figure`.

    Raises:
        ImportError: when matplotlib is not installed (`pip install gkeras[plot]`).
        ValueError: when the history is empty or a requested metric is not in it.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "plot_history needs matplotlib, which is not installed. Install it with "
            "`pip install gkeras[plot]` (or `pip install matplotlib`)."
        ) from error
    values = getattr(history, "history", history)
    if not isinstance(values, dict):
        raise TypeError(
            f"plot_history expects a History (returned by fit) or its `history` dict; got "
            f"{type(history).__name__}."
        )
    if not values:
        raise ValueError("plot_history: the history is empty (no epoch was recorded).")
    names = [k for k in values if not k.startswith("val_") or k[4:] not in values]
    if metrics is not None:
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        missing = [m for m in metrics if m not in values]
        if missing:
            raise ValueError(
                f"plot_history: metric(s) {missing} are not in the history. Available: "
                f"{sorted(values)}."
            )
        names = metrics
    epoch_index = list(getattr(history, "epoch", None) or [])
    figure = Figure(figsize=(5 * len(names), 4), layout="constrained")
    axes = figure.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        for key in (name, f"val_{name}"):
            if key not in values:
                continue
            series = [float(v) for v in values[key]]
            epochs = ([e + 1 for e in epoch_index] if len(epoch_index) == len(series)
                      else list(range(1, len(series) + 1)))
            ax.plot(epochs, series, marker="o", markersize=3,
                    label="validation" if key.startswith("val_") and key != name else "training")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        figure.suptitle(title)
    if to_file is not None:
        to_file = os.fspath(to_file)
        directory = os.path.dirname(to_file)
        if directory:
            os.makedirs(directory, exist_ok=True)
        figure.savefig(to_file)
    return figure


# --------------------------------------------------------------------- drawing
class _Drawing:
    """Collects DOT node / cluster lines and edges while walking a model."""

    def __init__(self, options, expand_nested):
        self.options = options
        self.expand_nested = expand_nested
        self.lines = []
        self.edges = []
        self._ids = {}
        self._clusters = 0

    def node_id(self, layer):
        return self._ids.setdefault(id(layer), f"layer_{len(self._ids)}")

    def edge_lines(self):
        seen, lines = set(), []
        for src, dst in self.edges:
            key = (self.node_id(src), self.node_id(dst))
            if key not in seen:
                seen.add(key)
                lines.append(f"  {key[0]} -> {key[1]};")
        return lines

    def _expands(self, layer):
        return self.expand_nested and _graph_kind(layer) is not None

    def add_model(self, model, as_cluster=False, indent="  "):
        """Draws `model`'s layers (and, with `as_cluster`, a dashed box around them)."""
        inner = indent
        if as_cluster:
            self._clusters += 1
            self.lines.append(f"{indent}subgraph cluster_{self._clusters} {{")
            inner = indent + "  "
            self.lines.append(f'{inner}label={_quote(model.name)}; style="dashed"; '
                              'labeljust="l";')
        kind = _graph_kind(model)
        if kind is None:  # a subclassed model or a plain layer: one box
            self._add_layer(model, _layer_shapes(model, None), inner)
        elif kind == "sequential":
            for layer, node in _sequential_nodes(model):
                self._add_layer(layer, _layer_shapes(layer, [node] if node else None), inner)
            stack = model.layers
            for src, dst in zip(stack, stack[1:]):
                self.edges.append((self._source(src, 0), self._destination(dst, 0)))
        else:
            for layer in model.layers:
                nodes = [n for n in model._nodes if n.layer is layer]
                self._add_layer(layer, _layer_shapes(layer, nodes), inner)
            for node in model._nodes:
                for position, tensor in enumerate(node.inputs):
                    parent, _, index = tensor._keras_history
                    self.edges.append((self._source(parent, index),
                                       self._destination(node.layer, position)))
        if as_cluster:
            self.lines.append(f"{indent}}}")

    def _add_layer(self, layer, shapes, indent):
        if self._expands(layer):
            self.add_model(layer, as_cluster=True, indent=indent)
            return
        label = _label(layer, shapes, self.options)
        self.lines.append(f"{indent}{self.node_id(layer)} [label=<{label}>];")

    def _source(self, layer, index):
        """The box an edge leaves: inside an expanded model, the layer making output `index`."""
        while self._expands(layer):
            outputs = layer.outputs
            if not outputs:
                break
            layer, _, index = outputs[min(index, len(outputs) - 1)]._keras_history
        return layer

    def _destination(self, layer, position):
        """The box an edge enters: inside an expanded model, its input layer / first layer."""
        while self._expands(layer):
            if _graph_kind(layer) == "sequential":
                if not layer.layers:
                    break
                layer = layer.layers[0]
            else:
                inputs = layer.inputs
                layer = inputs[min(position, len(inputs) - 1)]._keras_history[0]
        return layer


def _graph_kind(layer):
    from gkeras.models.functional import Functional
    from gkeras.models.sequential import Sequential

    if isinstance(layer, Sequential):
        return "sequential" if layer.built else None
    if isinstance(layer, Functional):
        return "functional"
    return None


def _sequential_nodes(model):
    """`(layer, node)` for each layer of a built Sequential, following its traced graph."""
    tensor = model.inputs[0] if model.inputs else None
    result = []
    for layer in model.layers:
        node = None
        if tensor is not None:
            node = next((n for n in reversed(layer._inbound_nodes)
                         if n.inputs and n.inputs[0] is tensor), None)
        result.append((layer, node))
        tensor = node.flat_outputs[0] if node is not None and node.flat_outputs else None
    return result


def _layer_shapes(layer, nodes):
    """`(input shapes, output shapes, output dtypes)` as text, `"?"` when unknown."""
    from gkeras.layers.core import InputLayer

    if isinstance(layer, InputLayer):
        return None, _format_shapes([layer.batch_shape]), layer.dtype
    if not nodes and layer._inbound_nodes:
        nodes = layer._inbound_nodes[-1:]
    if not nodes:
        return "?", "?", "?"
    texts = {(_format_shapes([t.shape for t in n.inputs]),
              _format_shapes([t.shape for t in n.flat_outputs]),
              ", ".join(dict.fromkeys(t.dtype for t in n.flat_outputs)))
             for n in nodes}
    if len(texts) > 1:  # a shared layer called on different shapes
        return "multiple", "multiple", "multiple"
    return texts.pop()


def _format_shapes(shapes):
    parts = ["(" + ", ".join(str(d) for d in shape) + (",)" if len(shape) == 1 else ")")
             for shape in shapes]
    if not parts:
        return "?"
    return parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"


def _label(layer, shapes, options):
    """An HTML-like Graphviz label: a title row, then one row of details."""
    class_name = type(layer).__name__
    title = (f"<b>{_html(layer.name)}</b> ({_html(class_name)})" if options["show_layer_names"]
             else f"<b>{_html(class_name)}</b>")
    rows = [title]
    activation = getattr(layer, "activation", None)
    if options["show_layer_activations"] and activation is not None:
        name = getattr(activation, "__name__", None) or getattr(activation, "name", None)
        rows.append(f"Activation: <b>{_html(name or str(activation))}</b>")
    cells = []
    input_shapes, output_shapes, dtypes = shapes
    if options["show_shapes"]:
        if input_shapes is not None:
            cells.append(f"Input shape: <b>{_html(input_shapes)}</b>")
        cells.append(f"Output shape: <b>{_html(output_shapes)}</b>")
    if options["show_dtype"]:
        cells.append(f"Output dtype: <b>{_html(dtypes)}</b>")
    if options["show_trainable"] and layer.weights:
        cells.append("<b>Trainable</b>" if layer.trainable else "<b>Non-trainable</b>")
    span = max(1, len(cells))
    html = ['<table border="0" cellborder="1" cellspacing="0" cellpadding="6">']
    html.append(f'<tr><td colspan="{span}" bgcolor="lightgrey">{rows[0]}</td></tr>')
    html.extend(f'<tr><td colspan="{span}">{row}</td></tr>' for row in rows[1:])
    if cells:
        html.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    html.append("</table>")
    return "".join(html)


def _html(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _quote(text):
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"dpi must be a positive number; got {value!r}.")
    return value


# ------------------------------------------------------------------- rendering
def _run_graphviz(dot_text, fmt, prog="dot", to_file=None):
    """Renders DOT text with a Graphviz program and returns the image bytes."""
    executable = shutil.which(prog)
    if executable is None:
        target = f"'{to_file}'" if to_file else "an image"
        raise ImportError(
            f"Rendering {target} (format '{fmt}') needs Graphviz's `{prog}` program, which "
            "was not found on PATH. Install Graphviz (e.g. `apt-get install graphviz`, "
            "`brew install graphviz`, `conda install graphviz`; see "
            "https://graphviz.org/download/), or save the graph as DOT text with a '.dot' / "
            "'.gv' file name, which needs nothing installed."
        )
    result = subprocess.run([executable, f"-T{fmt}"], input=dot_text.encode("utf-8"),
                            capture_output=True, check=False)
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise ValueError(f"Graphviz `{prog} -T{fmt}` failed (exit {result.returncode}): "
                         f"{message}")
    return result.stdout


def _atomic_write(path, data):
    """Writes all of `data` or nothing: a temporary file in the same folder, then a rename."""
    tmp = f"{path}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        with open(tmp, "xb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
