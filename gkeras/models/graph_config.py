"""Functional and Sequential configs in Keras's format, and models rebuilt from them.

A functional config lists the layers in graph order, each with the calls ("inbound nodes")
that feed it:

```
{"name": ..., "trainable": ...,
 "layers": [{"class_name", "config", "name", "inbound_nodes": [...]}, ...],
 "input_layers": [layer name, node index, tensor index] (or a list / dict of them),
 "output_layers": ...}
```

Keras 3 writes an inbound node as `{"args": [...], "kwargs": {...}}` with every tensor as
`{"class_name": "__keras_tensor__", "config": {"shape", "dtype", "keras_history": [layer,
node, tensor]}}`; tf.keras 2 wrote a list of `[layer, node, tensor, kwargs]`. Both are read;
Keras 3's form is written. As in Keras, a nested functional model's first call is node 1
(Keras models own a node from construction), and so is a nested Sequential's in tf.keras 2.
"""

from gkeras.layers.node import KerasTensor, map_structure

_TENSOR = "__keras_tensor__"


# ----------------------------------------------------------------------------- write
def _layer_entry(layer):
    from gkeras.saving.serialization import get_registered_name

    return {"class_name": get_registered_name(type(layer)), "config": layer.get_config()}


def _starts_at_one(layer, legacy=False):
    from gkeras.models.functional import Functional
    from gkeras.models.sequential import Sequential

    return isinstance(layer, Functional) or (legacy and isinstance(layer, Sequential))


def functional_config(model):
    """The config of a functional `model` (Keras 3's format)."""
    own = {id(node) for node in model._nodes}

    def node_index(layer, node):
        kept = [n for n in layer._inbound_nodes if id(n) in own]
        position = next(i for i, n in enumerate(kept) if n is node)
        return position + (1 if _starts_at_one(layer) else 0)

    def tensor_ref(tensor):
        layer, node, index = tensor._keras_history
        return [layer.name, node_index(layer, node), index]

    def serialize_arg(value):
        if isinstance(value, KerasTensor):
            return {"class_name": _TENSOR, "config": {
                "shape": list(value.shape), "dtype": value.dtype,
                "keras_history": tensor_ref(value)}}
        from gkeras.saving.serialization import serialize_keras_object

        return serialize_keras_object(value)

    layers = []
    for layer in model.layers:
        entry = _layer_entry(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [
            {"args": _as_lists(map_structure(serialize_arg, list(node.args))),
             "kwargs": _as_lists(map_structure(serialize_arg, dict(node.kwargs)))}
            for node in layer._inbound_nodes if id(node) in own and node.inputs
        ]
        layers.append(entry)
    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layers,
        "input_layers": _as_lists(map_structure(tensor_ref, model._inputs_struct)),
        "output_layers": _as_lists(map_structure(tensor_ref, model._outputs_struct)),
    }


def _as_lists(structure):
    """Tuples become lists, so a config equals its own JSON round trip."""
    if isinstance(structure, (list, tuple)):
        return [_as_lists(s) for s in structure]
    if isinstance(structure, dict):
        return {k: _as_lists(v) for k, v in structure.items()}
    return structure


def sequential_config(model):
    """The config of a `Sequential` model (Keras 3's format)."""
    layers = []
    if model._input_layer is not None:
        layers.append(_layer_entry(model._input_layer))
    layers += [_layer_entry(layer) for layer in model._stack]
    config = {"name": model.name, "trainable": model.trainable, "dtype": model.dtype,
              "layers": layers}
    if model._build_input_shape is not None:
        config["build_input_shape"] = _as_lists(model._build_input_shape)
    return config


# ------------------------------------------------------------------------------ read
def _shape(value):
    """JSON lists back to shape tuples (a list of shapes stays a list)."""
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        return [tuple(v) for v in value]
    if isinstance(value, dict):
        return {k: tuple(v) for k, v in value.items()}
    return tuple(value) if value is not None else None


class _NotReady(Exception):
    """A node's inputs come from a call not replayed yet (a layer shared across depths)."""


def functional_from_config(config, custom_objects=None):
    """Rebuilds a functional model by replaying every layer call of its config.

    Args:
        config: the output of `functional_config` (or a Keras 3 / tf.keras 2 config).
        custom_objects: `{name: class}` for user-defined layers.

    Returns:
        A new `Functional` model with freshly initialised weights.

    Raises:
        ValueError: for a malformed config, naming the missing key or layer.
    """
    from gkeras.models.functional import Functional
    from gkeras.saving.serialization import deserialize_layer

    if not isinstance(config, dict):
        raise ValueError(f"A functional model config must be a dict; received {config!r}.")
    missing = [k for k in ("layers", "input_layers", "output_layers") if k not in config]
    if missing:
        raise ValueError(
            f"Invalid functional model config: missing key(s) {missing}. Expected 'layers', "
            "'input_layers' and 'output_layers'."
        )
    legacy = any(isinstance(node, list) for entry in config["layers"]
                 for node in entry.get("inbound_nodes") or [])
    created, pending, order = {}, {}, []
    for entry in config["layers"]:
        if "name" not in entry:
            raise ValueError(f"Invalid functional model config: layer entry without 'name': "
                             f"{entry!r}.")
        layer = deserialize_layer(entry, custom_objects)
        name = entry["name"]
        created[name] = layer
        order.append(name)
        pending[name] = list(entry.get("inbound_nodes") or [])

    def tensor(layer_name, node_index, tensor_index):
        if layer_name not in created:
            raise ValueError(
                f"Invalid functional model config: a node refers to layer '{layer_name}', which "
                f"is not among the layers {order}."
            )
        layer = created[layer_name]
        index = node_index - (1 if _starts_at_one(layer, legacy) else 0)
        if index >= len(layer._inbound_nodes):
            raise _NotReady(layer_name)
        return layer._inbound_nodes[index].flat_outputs[tensor_index]

    def revive(value):
        if isinstance(value, dict) and value.get("class_name") == _TENSOR:
            return tensor(*value["config"]["keras_history"])
        if isinstance(value, dict):
            return {k: revive(v) for k, v in value.items()}
        if isinstance(value, list):
            return [revive(v) for v in value]
        return value

    def call_node(layer, node):
        if isinstance(node, list):  # tf.keras 2: [[layer, node, tensor, kwargs], ...]
            inputs, kwargs = [], {}
            for item in node:
                inputs.append(tensor(item[0], item[1], item[2]))
                if len(item) > 3 and item[3]:
                    kwargs = revive(item[3])
            layer(inputs[0] if len(inputs) == 1 else inputs, **kwargs)
        else:
            args = revive(node.get("args", []))
            kwargs = revive(node.get("kwargs", {}))
            layer(*args, **kwargs)

    # Replay calls in config order; a call whose inputs do not exist yet waits for a later
    # pass (Keras's scheme for layers shared at several depths).
    while any(pending.values()):
        progressed = False
        for name in order:
            while pending[name]:
                try:
                    call_node(created[name], pending[name][0])
                except _NotReady:
                    break
                pending[name].pop(0)
                progressed = True
        if not progressed:
            stuck = {n: len(v) for n, v in pending.items() if v}
            raise ValueError(
                "Invalid functional model config: the graph has a cycle or refers to calls "
                f"that never happen. Unresolved calls per layer: {stuck}."
            )

    def leaf(ref):
        return isinstance(ref, list) and len(ref) in (3, 4) and isinstance(ref[0], str)

    def tensors(refs):
        if leaf(refs):
            return tensor(refs[0], refs[1], refs[2])
        if isinstance(refs, dict):
            return {k: tensors(v) for k, v in refs.items()}
        return [tensors(r) for r in refs]

    def structure(refs):
        found = tensors(refs)
        # tf.keras 2 always wrote lists and unpacked one-element lists when building
        if legacy and isinstance(found, list) and len(found) == 1:
            return found[0]
        return found

    try:
        inputs = structure(config["input_layers"])
        outputs = structure(config["output_layers"])
    except _NotReady as err:
        raise ValueError(
            f"Invalid functional model config: input/output refers to a call of layer "
            f"'{err.args[0]}' that the config never makes."
        ) from None
    return Functional(inputs, outputs, name=config.get("name"),
                      trainable=config.get("trainable", True) is not False)


def sequential_from_config(config, custom_objects=None):
    """Rebuilds a `Sequential` model from its config (Keras 3, tf.keras 2 or a bare list).

    Returns:
        A new `Sequential` model, built when the config gives the input shape.
    """
    from gkeras.models.sequential import Sequential
    from gkeras.saving.serialization import deserialize_layer

    if isinstance(config, list):  # Keras 2.2 saved a bare list of layer configs
        config = {"layers": config}
    if not isinstance(config, dict) or "layers" not in config:
        raise ValueError(
            f"Invalid Sequential config: expected a dict with 'layers'; received {config!r}."
        )
    layers = [deserialize_layer(entry, custom_objects) for entry in config["layers"]]
    model = Sequential(layers, name=config.get("name"),
                       trainable=config.get("trainable", True) is not False)
    build_shape = config.get("build_input_shape")
    if not model.built and build_shape is not None and model.layers:
        model.build(_shape(build_shape))
    return model
