"""Keras 3's `.weights.h5` layout.

Keras 3 walks the model like an object tree and stores each layer's own variables under the
path it reached it by:

```
/vars                                  attrs: name (the model's); the model's own variables
/layers/<key>/vars/0, 1, ...           attrs: name (the layer's)
/layers/<key>/layers/<key>/vars/...    a nested model
/<attribute>/vars/...                  a subclassed model's layer attribute
/optimizer/vars/0, 1, ...              the optimizer state, when compiled
```

Keys come from the class, not the layer name (`dense`, `dense_1`, `batch_normalization`,
... numbered per class inside each list), so two instances of one architecture line up
whatever their layer names. A Sequential or Functional model lists `layers` first; then,
as for subclassed models, attributes are visited in sorted order, private ones last, and an
object reached twice is stored once. Within a layer, variables are numbered in creation
order, trainable ones first. tf.keras 2.13-2.15 wrote the same layout but visited
attributes in reverse alphabetical order and named no group; such files are read in that
order.
"""

import numpy as np

from gkeras.saving.hdf5_format import optimizer_state, plan_pairs, skip_or_raise

# Attributes that belong to the framework, not to the user's model structure (Keras skips
# the attributes every plain Layer has in the same way).
_SKIP = {
    "_tracked_layers", "_input_layer", "_stack", "_graph_output", "_layers_in_order",
    "_inbound_nodes", "_nodes", "_inputs_struct", "_outputs_struct", "inputs", "outputs",
    "_weights_list", "_added_losses", "input_spec", "_compiled_loss", "_compiled_metrics",
    "_loss_tracker", "_output_loss_trackers", "history", "_compile_config", "loss",
}


def _sort_key(name):
    return f"~{name}" if name.startswith("_") else name


def _join(path, name):
    return f"{path}/{name}" if path else name


def own_variables(layer):
    """A layer's own variables (not its sublayers'), as Keras 3 numbers them."""
    own = list(layer._weights_list)
    return ([v for v in own if getattr(v, "_declared_trainable", v.trainable)]
            + [v for v in own if not getattr(v, "_declared_trainable", v.trainable)])


def _has_layers(value, Layer):
    if isinstance(value, Layer):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_layers(v, Layer) for v in value)
    if isinstance(value, dict):
        return any(_has_layers(v, Layer) for v in value.values())
    return False


def _children(obj, include_optimizer, tf_keras2=False):
    from gkeras.layers.layer import Layer
    from gkeras.models.functional import Functional
    from gkeras.models.model import Model
    from gkeras.models.sequential import Sequential

    attrs = {}
    if isinstance(obj, (Functional, Sequential)) and not tf_keras2:
        yield "layers", obj.layers
    elif isinstance(obj, Model):
        attrs["layers"] = obj.layers
    for name, value in vars(obj).items():
        if name not in _SKIP and _has_layers(value, Layer):
            attrs[name] = value
    if include_optimizer and isinstance(obj, Model) and getattr(obj, "optimizer", None) is not None:
        attrs["optimizer"] = obj.optimizer
    # tf.keras 2.13-2.15 walked all attributes in reverse alphabetical order
    order = sorted(attrs, reverse=True) if tf_keras2 else sorted(attrs, key=_sort_key)
    for name in order:
        yield name, attrs[name]


def walk(model, include_optimizer=True, tf_keras2=False):
    """`(path, object)` for the model, each layer reached, and the optimizer, in Keras 3's
    order (or in tf.keras 2's, which only differs for attributes of subclassed models)."""
    # a list's keys are Keras's snake_case class names, as in layer names (`conv2d`)
    from gkeras.layers.layer import Layer, snake_case

    out, visited = [], set()

    def visit(obj, path):
        if id(obj) in visited:
            return
        visited.add(id(obj))
        out.append((path, obj))
        if not isinstance(obj, Layer):
            return  # the optimizer: no children
        for name, child in _children(obj, include_optimizer and obj is model, tf_keras2):
            if isinstance(child, (list, tuple, dict)):
                visit_container(child, _join(path, name))
            else:
                visit(child, _join(path, name))

    def visit_container(container, path):
        used = {}
        items = container.values() if isinstance(container, dict) else container
        for item in items:
            if isinstance(item, Layer):
                if tf_keras2 and id(item) in visited:
                    continue  # tf.keras 2 numbered only the layers it stored here
                visit(item, _join(path, _unique(snake_case(type(item).__name__), used)))
            elif isinstance(item, (list, tuple, dict)):
                visit_container(item, _join(path, _unique("container", used)))

    visit(model, "")
    return out


def _unique(name, used):
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _vars_path(path):
    return _join(path, "vars")


def _state_of(obj):
    from gkeras.layers.layer import Layer

    if isinstance(obj, Layer):
        return [v.numpy() for v in own_variables(obj)]
    return optimizer_state(obj)


def write(f, model, include_optimizer=True):
    """Writes `model`'s weights (and optimizer state) into the open `h5py.File` `f`."""
    for path, obj in walk(model, include_optimizer):
        group = f.create_group(_vars_path(path))
        name = getattr(obj, "name", None)
        if isinstance(name, str):
            group.attrs["name"] = name
        for index, value in enumerate(_state_of(obj)):
            group.create_dataset(str(index), data=np.asarray(value))


def _entry_group(f, path):
    vars_path = _vars_path(path)
    if vars_path in f:
        return f[vars_path]
    # tf.keras 2.13 named the top-level list `_layer_checkpoint_dependencies`
    if path.startswith("layers") and "_layer_checkpoint_dependencies" in f:
        legacy = _vars_path(path.replace("layers", "_layer_checkpoint_dependencies", 1))
        if legacy in f:
            return f[legacy]
    return None


def plan(f, model, skip_mismatch=False):
    """Reads every stored array for `model` and pairs it with its variable.

    Returns:
        `(pairs, optimizer_values)`: `(variable, array)` pairs, and the saved optimizer
        state arrays (`None` when there are none); nothing is assigned.

    Raises:
        ValueError: when a layer's variable count or a shape differs (unless
            `skip_mismatch`), naming the layer (index and name) and both shapes.
    """
    from gkeras.layers.layer import Layer

    pairs, optimizer_values = [], None
    index = 0
    # Keras 3 names every `vars` group; tf.keras 2 wrote them without attributes
    tf_keras2 = "vars" in f and "name" not in f["vars"].attrs
    used = set()
    for path, obj in walk(model, include_optimizer=True, tf_keras2=tf_keras2):
        group = _entry_group(f, path)
        if group is not None:
            used.add(group.name)
        stored = [] if group is None else sorted(
            (k for k in group.keys() if k.isdigit()), key=int)
        if not isinstance(obj, Layer):
            optimizer_values = _plan_optimizer(obj, group, stored)
            continue
        variables = own_variables(obj)
        where = (f"Layer #{index} (named '{obj.name}', stored at '{_vars_path(path)}')"
                 if path else f"Model '{obj.name}' (its own variables)")
        if path:
            index += 1
        if len(stored) != len(variables):
            message = (f"{where}: the layer has {len(variables)} variable(s) "
                       f"{[v.path for v in variables]}, but the file holds {len(stored)} "
                       "for it")
            if group is None and variables:
                message += " (no such group in the file: is it a weights file of this model?)"
            skip_or_raise(message, skip_mismatch, stacklevel=3)
            continue
        # read lazily: a mismatch is reported before the next array is read
        values = (np.asarray(group[key]) for key in stored)
        plan_pairs(pairs, variables, values, where, skip_mismatch, stacklevel=3)
    _check_all_used(f, model, used, skip_mismatch)
    return pairs, optimizer_values


def _check_all_used(f, model, used, skip_mismatch):
    """Weights in the file that no layer of the model takes mean the file is for another
    (bigger) model: an error, where Keras would silently ignore them."""
    unused = []

    def visit(name, obj):
        top = name.split("/", 1)[0]
        if (name.endswith("vars") and top not in ("optimizer", "metrics")
                and len(obj) and "/" + name not in used):
            unused.append(name)

    f.visititems(lambda name, obj: visit(name, obj) if not hasattr(obj, "shape") else None)
    if unused:
        message = (f"Layer count mismatch when loading weights into model '{model.name}': the "
                   f"file holds weights at {sorted(unused)} that match no layer of the model")
        skip_or_raise(message, skip_mismatch, stacklevel=4)


def _plan_optimizer(optimizer, group, stored):
    # Checked against the optimizer (built first if need be) only once the weights are in:
    # a mismatch there is a warning, never an error (Keras's behaviour).
    if group is None or not stored:
        return None
    return [np.asarray(group[key]) for key in stored]


def is_keras3_weights_file(f):
    """Whether an open HDF5 file has the `.weights.h5` layout (rather than the legacy one)."""
    return "layer_names" not in f.attrs and "model_weights" not in f and (
        "vars" in f or "layers" in f or "_layer_checkpoint_dependencies" in f)
