"""plot_model / model_to_dot (DOT text, Graphviz rendering) and plot_history (matplotlib)."""

import os
import re
import shutil
import stat
import sys

import numpy as np
import pytest

import gkeras as keras
from gkeras import layers
from gkeras.utils.plotting import model_to_dot, plot_history, plot_model

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------ DOT parsing
def parse_dot(text):
    """`({node id: label}, [(src id, dst id)], [cluster labels])` read back from DOT text."""
    nodes = dict(re.findall(r"^\s*(layer_\d+) \[label=<(.*)>\];$", text, flags=re.M))
    edges = re.findall(r"^\s*(layer_\d+) -> (layer_\d+);$", text, flags=re.M)
    clusters = re.findall(r'^\s*label="([^"]*)"; style="dashed"', text, flags=re.M)
    return nodes, edges, clusters


def title_of(label):
    """`"name (Class)"` (or `"Class"`) from a node label's first cell, tags removed."""
    first = re.search(r'bgcolor="lightgrey">(.*?)</td>', label).group(1)
    return re.sub(r"<[^>]+>", "", first)


def named_edges(text):
    nodes, edges, _ = parse_dot(text)
    names = {node: title_of(label).split(" ")[0] for node, label in nodes.items()}
    return [(names[a], names[b]) for a, b in edges]


def functional_with_nested_sequential():
    a = keras.Input(shape=(4,), name="a")
    b = keras.Input(shape=(3,), name="b")
    inner = keras.Sequential([layers.Dense(5, input_shape=(4,), name="i1"),
                              layers.Dense(2, name="i2")], name="inner")
    joined = layers.Concatenate(name="cat")([inner(a), b])
    out = layers.Dense(1, activation="sigmoid", name="out")(joined)
    return keras.Model([a, b], out, name="two_inputs")


# ------------------------------------------------------------------- model_to_dot
def test_sequential_is_a_chain_of_its_layers_with_shapes():
    model = keras.Sequential([layers.Dense(3, input_shape=(2,), activation="relu", name="d1"),
                              layers.Dense(4, name="d2"), layers.Dense(1, name="d3")],
                             name="chain")
    text = model_to_dot(model, show_shapes=True)
    assert isinstance(text, str) and text.startswith('digraph "chain" {')
    nodes, _, _ = parse_dot(text)
    assert sorted(title_of(label) for label in nodes.values()) == [
        "d1 (Dense)", "d2 (Dense)", "d3 (Dense)"]
    assert named_edges(text) == [("d1", "d2"), ("d2", "d3")]
    labels = {title_of(label).split(" ")[0]: label for label in nodes.values()}
    # shapes follow from the layer sizes: (None, 2) -> 3 -> 4 -> 1
    expected = {"d1": ((None, 2), (None, 3)), "d2": ((None, 3), (None, 4)),
                "d3": ((None, 4), (None, 1))}
    for name, (shape_in, shape_out) in expected.items():
        assert f"Input shape: <b>{shape_in}</b>" in labels[name]
        assert f"Output shape: <b>{shape_out}</b>" in labels[name]


def test_functional_graph_edges_follow_the_layer_calls():
    model = functional_with_nested_sequential()
    text = model_to_dot(model, show_shapes=True, show_dtype=True)
    nodes, _, clusters = parse_dot(text)
    titles = sorted(title_of(label) for label in nodes.values())
    assert titles == ["a (InputLayer)", "b (InputLayer)", "cat (Concatenate)", "inner (Sequential)",
                      "out (Dense)"]
    assert sorted(named_edges(text)) == sorted(
        [("a", "inner"), ("inner", "cat"), ("b", "cat"), ("cat", "out")])
    assert clusters == []
    cat = next(label for label in nodes.values() if title_of(label).startswith("cat"))
    assert "Input shape: <b>[(None, 2), (None, 3)]</b>" in cat
    assert "Output shape: <b>(None, 5)</b>" in cat and "Output dtype: <b>float32</b>" in cat


def test_expand_nested_draws_the_inner_model_as_a_cluster_wired_to_its_neighbours():
    model = functional_with_nested_sequential()
    text = model_to_dot(model, expand_nested=True)
    nodes, _, clusters = parse_dot(text)
    assert clusters == ["inner"]
    titles = sorted(title_of(label).split(" ")[0] for label in nodes.values())
    assert titles == ["a", "b", "cat", "i1", "i2", "out"]
    assert sorted(named_edges(text)) == sorted(
        [("a", "i1"), ("i1", "i2"), ("i2", "cat"), ("b", "cat"), ("cat", "out")])
    # the inner layers sit inside the cluster block
    block = text[text.index("subgraph cluster_"):]
    block = block[:block.index("\n  }")]
    assert "<b>i1</b>" in block and "<b>i2</b>" in block and "<b>cat</b>" not in block


def test_label_options():
    model = functional_with_nested_sequential()
    model.get_layer("cat").trainable = False
    text = model_to_dot(model, show_layer_names=False, show_layer_activations=True,
                        show_trainable=True)
    nodes, _, _ = parse_dot(text)
    titles = sorted(title_of(label) for label in nodes.values())
    assert titles == ["Concatenate", "Dense", "InputLayer", "InputLayer", "Sequential"]
    dense = next(label for label in nodes.values() if title_of(label) == "Dense")
    assert "Activation: <b>sigmoid</b>" in dense and "<b>Trainable</b>" in dense
    # Concatenate has no weights: no trainable mark; Sequential has weights and is trainable
    concat = next(label for label in nodes.values() if title_of(label) == "Concatenate")
    assert "Trainable" not in concat
    model.get_layer("out").trainable = False
    text = model_to_dot(model, show_trainable=True)
    assert "<b>Non-trainable</b>" in text


def test_graph_attributes_and_subgraph_mode():
    model = functional_with_nested_sequential()
    text = model_to_dot(model, rankdir="LR", dpi=96)
    assert 'rankdir="LR"' in text and "dpi=96" in text
    sub = model_to_dot(model, subgraph=True)
    assert sub.lstrip().startswith("subgraph cluster_") and "digraph" not in sub
    assert 'label="two_inputs"' in sub


def test_subclassed_model_is_one_box():
    class Net(keras.Model):
        def __init__(self):
            super().__init__(name="net")
            self.d = layers.Dense(2)

        def call(self, x):
            return self.d(x)

    model = Net()
    model(np.zeros((1, 3), "float32"))
    nodes, edges, _ = parse_dot(model_to_dot(model))
    assert [title_of(label) for label in nodes.values()] == ["net (Net)"] and edges == []


def test_names_are_escaped():
    inputs = keras.Input(shape=(2,), name='in<"&>')
    model = keras.Model(inputs, layers.Dense(1, name="d")(inputs), name='my "model"')
    text = model_to_dot(model)
    assert 'digraph "my \\"model\\"" {' in text
    assert "<b>in&lt;&quot;&amp;&gt;</b>" in text


def test_bad_arguments():
    model = keras.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="has not yet been built"):
        model_to_dot(model)
    built = keras.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match=r"rankdir 'XY'.*\['TB', 'LR', 'BT', 'RL'\]"):
        model_to_dot(built, rankdir="XY")
    with pytest.raises(ValueError, match="dpi must be a positive number"):
        model_to_dot(built, dpi=0)
    with pytest.raises(TypeError, match="expects a gkeras Model.*got str"):
        model_to_dot("model")


# --------------------------------------------------------------------- plot_model
@pytest.mark.parametrize("name", ["model.dot", "graph.gv"])
def test_plot_model_writes_dot_text_without_graphviz(tmp_path, monkeypatch, name):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no `dot` anywhere
    model = functional_with_nested_sequential()
    target = tmp_path / "sub" / name
    assert plot_model(model, to_file=target, show_shapes=True) is None
    assert target.read_text() == model_to_dot(model, show_shapes=True)
    assert os.listdir(target.parent) == [name]  # no temporary left behind


def test_plot_model_image_without_graphviz_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    model = functional_with_nested_sequential()
    target = tmp_path / "model.png"
    with pytest.raises(ImportError, match=r"Graphviz's `dot` program.*'\.dot' / '\.gv'"):
        plot_model(model, to_file=target)
    assert not target.exists()


def _fake_dot(folder):
    """A stand-in `dot` that records its arguments and input, and answers with PNG bytes."""
    folder.mkdir()
    script = folder / "dot"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys, pathlib\n"
        "here = pathlib.Path(__file__).parent\n"
        "(here / 'args.txt').write_text(' '.join(sys.argv[1:]))\n"
        "(here / 'input.dot').write_bytes(sys.stdin.buffer.read())\n"
        "if sys.argv[1] == '-Tbad':\n"
        "    sys.stderr.write('Format: \"bad\" not recognized')\n"
        "    sys.exit(1)\n"
        f"sys.stdout.buffer.write({PNG_MAGIC!r} + b'fake image')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return folder


def test_plot_model_pipes_the_dot_text_to_graphviz(tmp_path, monkeypatch):
    fake = _fake_dot(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(fake))
    model = functional_with_nested_sequential()
    plot_model(model, to_file=tmp_path / "m.png", rankdir="LR")
    assert (fake / "args.txt").read_text() == "-Tpng"
    assert (fake / "input.dot").read_text() == model_to_dot(model, rankdir="LR")
    assert (tmp_path / "m.png").read_bytes() == PNG_MAGIC + b"fake image"
    plot_model(model, to_file=tmp_path / "noext")  # no extension: PNG, as Keras does
    assert (fake / "args.txt").read_text() == "-Tpng"
    plot_model(model, to_file=tmp_path / "m.SVG")
    assert (fake / "args.txt").read_text() == "-Tsvg"
    with pytest.raises(ValueError, match=r"Graphviz `dot -Tbad` failed \(exit 1\).*not recognized"):
        plot_model(model, to_file=tmp_path / "m.bad")
    assert not (tmp_path / "m.bad").exists()
    assert model_to_dot(model).create(format="png") == PNG_MAGIC + b"fake image"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_plot_model_renders_real_images(tmp_path):
    model = functional_with_nested_sequential()
    plot_model(model, to_file=tmp_path / "m.png", show_shapes=True, show_dtype=True,
               show_layer_activations=True, show_trainable=True, expand_nested=True)
    assert (tmp_path / "m.png").read_bytes().startswith(PNG_MAGIC)
    plot_model(model, to_file=tmp_path / "m.svg", show_shapes=True)
    svg = (tmp_path / "m.svg").read_text()
    assert "<svg" in svg and "Concatenate" in svg and "(None, 5)" in svg


# ------------------------------------------------------------------- plot_history
def test_plot_history_without_matplotlib_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install gkeras\[plot\]"):
        plot_history({"loss": [1.0, 0.5]}, to_file=tmp_path / "h.png")


def test_plot_history_draws_each_metric_with_its_validation_curve(tmp_path):
    pytest.importorskip("matplotlib")
    history = keras.callbacks.History()
    history.epoch = [0, 1, 2]
    history.history = {"accuracy": [0.5, 0.7, 0.8], "loss": [0.9, 0.6, 0.4],
                       "val_accuracy": [0.4, 0.6, 0.65], "val_loss": [1.0, 0.8, 0.7]}
    figure = plot_history(history, to_file=tmp_path / "out" / "h.png", title="run")
    assert (tmp_path / "out" / "h.png").read_bytes().startswith(PNG_MAGIC)
    axes = figure.axes
    assert [ax.get_title() for ax in axes] == ["accuracy", "loss"]
    for ax, name in zip(axes, ["accuracy", "loss"]):
        train, val = ax.lines
        np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
        np.testing.assert_array_equal(train.get_ydata(), history.history[name])
        np.testing.assert_array_equal(val.get_ydata(), history.history[f"val_{name}"])
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training", "validation"]
    only = plot_history(history.history, to_file=None, metrics="loss")
    assert [ax.get_title() for ax in only.axes] == ["loss"]


def test_plot_history_bad_input(tmp_path):
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match=r"\['nope'\] are not in the history.*\['loss'\]"):
        plot_history({"loss": [1.0]}, to_file=None, metrics=["nope"])
    with pytest.raises(ValueError, match="history is empty"):
        plot_history({}, to_file=None)
    with pytest.raises(TypeError, match="got list"):
        plot_history([1.0, 2.0], to_file=None)

