"""Keras's legacy HDF5 layout (`model.save("x.h5")`, `save_weights("x.h5")`).

```
/                      attrs: model_config, training_config (JSON), keras_version, backend
/model_weights         attrs: layer_names, keras_version, backend
/model_weights/<layer> attrs: weight_names;  datasets <layer>/<weight_names[i]>
/model_weights/top_level_model_weights   the model's own weights (usually none)
/optimizer_weights     attrs: weight_names;  datasets named by them
```

Within a layer, weights go in Keras's legacy order: trainable ones, then non-trainable ones.
Writers take an open `h5py.File`; readers return *plans* — `(variable, array)` pairs read
and checked in full — so the caller assigns only once nothing can fail any more.
"""

import warnings

import numpy as np

# HDF5 keeps attributes in the object header, which holds at most 64 KiB: longer name
# lists are split over `name0`, `name1`, ... as Keras does.
HDF5_OBJECT_HEADER_LIMIT = 64512


# ----------------------------------------------------------------------- attributes
def save_attributes(group, name, data):
    """Stores a list of strings as `group.attrs[name]`, chunked when too large."""
    encoded = [item.encode("utf8") for item in data]
    too_big = [item for item in encoded if len(item) > HDF5_OBJECT_HEADER_LIMIT]
    if too_big:
        raise ValueError(
            f"Cannot save attribute '{name}': entries longer than {HDF5_OBJECT_HEADER_LIMIT} "
            f"bytes: {too_big[:3]}."
        )
    array = np.asarray(encoded) if encoded else np.zeros((0,), dtype="S1")
    chunks = 1
    pieces = [array]
    while any(piece.nbytes > HDF5_OBJECT_HEADER_LIMIT for piece in pieces):
        chunks += 1
        pieces = np.array_split(array, chunks)
    if chunks == 1:
        group.attrs[name] = array
    else:
        for index, piece in enumerate(pieces):
            group.attrs[f"{name}{index}"] = piece


def load_attributes(group, name):
    """Reads a list of strings stored by `save_attributes` (or by Keras)."""
    def decode(items):
        return [item.decode("utf8") if hasattr(item, "decode") else str(item)
                for item in np.atleast_1d(items) if not _is_float(item)]

    if name in group.attrs:
        return decode(group.attrs[name])
    out, index = [], 0
    while f"{name}{index}" in group.attrs:
        out += decode(group.attrs[f"{name}{index}"])
        index += 1
    return out


def _is_float(item):
    # Keras writes an empty name list as a float64 array
    return isinstance(item, (float, np.floating))


def _attr_text(value):
    return value.decode("utf8") if hasattr(value, "decode") else str(value)


# -------------------------------------------------------------------------- weights
def legacy_weights(layer):
    """A layer's weights in Keras's legacy HDF5 order: trainable, then non-trainable."""
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def own_weights(model):
    """Weights created by the model itself (`add_weight` on the model), legacy order."""
    own = list(model._weights_list)
    return [w for w in own if w.trainable] + [w for w in own if not w.trainable]


def _unique_names(variables):
    return _dedupe([str(getattr(v, "path", None) or v.name) for v in variables])


def _write_named(group, names, arrays):
    """Stores `arrays` as datasets of `group` listed in its `weight_names` attribute."""
    save_attributes(group, "weight_names", names)
    for name, array in zip(names, arrays):
        group.create_dataset(name, data=np.asarray(array))


def _read_named(group):
    """`(names, arrays)` stored by `_write_named` (or by Keras)."""
    names = load_attributes(group, "weight_names")
    return names, [np.asarray(group[name]) for name in names]


def _write_subset(group, variables):
    _write_named(group, _unique_names(variables),
                 [v.numpy() if hasattr(v, "numpy") else np.asarray(v) for v in variables])


def write_model_weights(group, model, keras_version, backend_name):
    """Writes every layer's weights into `group` (legacy layout)."""
    layers = list(model.layers)
    names = [layer.name for layer in layers]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(
            f"Cannot save model '{model.name}' in HDF5: layer names must be unique, but "
            f"{duplicates} name several layers. Give those layers distinct `name=`s."
        )
    save_attributes(group, "layer_names", names)
    group.attrs["backend"] = backend_name.encode("utf8")
    group.attrs["keras_version"] = str(keras_version).encode("utf8")
    # Creation sorted by name, as Keras does, so no group name is a prefix of a later one.
    for layer in sorted(layers, key=lambda lay: lay.name):
        _write_subset(group.create_group(layer.name), legacy_weights(layer))
    _write_subset(group.create_group("top_level_model_weights"), own_weights(model))


def optimizer_state(optimizer):
    """The optimizer's state as host arrays, laid out as Keras 3 stores it.

    Keras 3 keeps `[iteration, learning_rate, slots...]`; gkeras's `optimizer.variables`
    has no learning-rate entry (the rate lives in the config), so the current rate is
    inserted second, which lets Keras 3 restore the state (readers drop it again). Empty
    before the optimizer is built: there is no state worth restoring yet.
    """
    if not getattr(optimizer, "built", True):
        return []
    if hasattr(optimizer, "get_weights"):
        values = [np.asarray(a) for a in optimizer.get_weights()]
    else:
        values = [np.asarray(v.numpy() if hasattr(v, "numpy") else v)
                  for v in getattr(optimizer, "variables", None) or []]
    if not values:
        return []
    rate = np.asarray(float(getattr(optimizer, "learning_rate", 0.0)), dtype=np.float32)
    return values[:1] + [rate] + values[1:]


def optimizer_state_names(optimizer, count):
    """Keras-like names for `optimizer_state`'s arrays (`adam/iteration`,
    `adam/learning_rate`, `adam/dense_kernel_momentum`, ...); indices when the layout is
    unknown."""
    prefix = getattr(optimizer, "name", None) or type(optimizer).__name__.lower()
    names = ["iteration", "learning_rate"] + list(getattr(optimizer, "_global_slots", {}) or {})
    slots = getattr(optimizer, "_slots", {}) or {}
    for variable in getattr(optimizer, "_variables_tracked", []) or []:
        base = str(getattr(variable, "path", "variable")).replace("/", "_")
        names += [f"{base}_{slot}" for slot in slots.get(id(variable), {})]
    if len(names) != count:
        names = [f"state_{i}" for i in range(count)]
    return [f"{prefix}/{name}" for name in _dedupe(names)]


def _dedupe(names):
    out, seen = [], {}
    for name in names:
        candidate = name
        while candidate in seen:
            seen[name] += 1
            candidate = f"{name}_{seen[name]}"
        seen[candidate] = 0
        out.append(candidate)
    return out


def write_optimizer_weights(root, optimizer):
    """Writes the optimizer's state arrays (nothing when it has none yet)."""
    values = optimizer_state(optimizer)
    if not values:
        return
    _write_named(root.create_group("optimizer_weights"),
                 optimizer_state_names(optimizer, len(values)), values)


def read_optimizer_weights(root):
    """`(names, arrays)` of the saved optimizer state (empty lists when none was saved)."""
    if "optimizer_weights" not in root:
        return [], []
    return _read_named(root["optimizer_weights"])


# ---------------------------------------------------------------------------- reading
def check_value(variable, value, where):
    """Checks that `value` can be assigned to `variable`; returns the error text or `None`."""
    if tuple(value.shape) != tuple(variable.shape):
        return (f"{where}: weight '{variable.path}' has shape {tuple(variable.shape)} in the "
                f"model, but the saved weight has shape {tuple(value.shape)}")
    if value.dtype.kind not in "biuf":
        return (f"{where}: weight '{variable.path}' is {variable.dtype}, but the saved weight "
                f"has non-numeric dtype {value.dtype}")
    return None


def skip_or_raise(message, skip_mismatch, stacklevel):
    """Warns `Skipping <message>.` with `skip_mismatch`, else raises `ValueError(<message>.)`.

    `stacklevel` counts from the caller, as if it called `warnings.warn` itself.
    """
    if not skip_mismatch:
        raise ValueError(message + ".")
    warnings.warn(f"Skipping {message}.", stacklevel=stacklevel + 1)


def plan_pairs(plan, variables, values, where, skip_mismatch, stacklevel):
    """Appends each `(variable, value)` that `check_value` accepts to `plan`; any other is
    skipped or raised by `skip_or_raise`."""
    for variable, value in zip(variables, values):
        problem = check_value(variable, value, where)
        if problem is None:
            plan.append((variable, value))
        else:
            skip_or_raise(problem, skip_mismatch, stacklevel + 1)


def _plan_layer(plan, layer, values, where, skip_mismatch, saved_name=None):
    variables = legacy_weights(layer)
    if len(values) != len(variables):
        message = (f"{where}: the layer has {len(variables)} weight(s) "
                   f"{[v.path for v in variables]}, but the file holds {len(values)} saved "
                   f"weight(s) for it" + (f" (saved as '{saved_name}')" if saved_name else ""))
        skip_or_raise(message, skip_mismatch, stacklevel=4)
        return
    plan_pairs(plan, variables, values, where, skip_mismatch, stacklevel=4)


def plan_model_weights(group, model, skip_mismatch=False, by_name=False):
    """Reads `group` (a legacy `model_weights` group) and pairs it with `model`'s weights.

    Args:
        group: the `h5py` group holding `layer_names`.
        model: the model to load into.
        skip_mismatch: skip layers / weights that do not fit, with a warning.
        by_name: match layers by name (missing names are skipped) instead of by order.

    Returns:
        A list of `(variable, array)` pairs; nothing has been assigned.

    Raises:
        ValueError: on a layer count, weight count or shape mismatch, naming the layer by
            index and name and giving both shapes.
    """
    saved_names = load_attributes(group, "layer_names")
    saved = []
    for name in saved_names:
        if name not in group:
            raise ValueError(f"The file lists layer '{name}' but holds no group for it.")
        weight_names, values = _read_named(group[name])
        if weight_names:
            saved.append((name, values))
    plan = []
    layers = [layer for layer in model.layers if legacy_weights(layer)]
    if by_name:
        index = {}
        for layer in model.layers:
            index.setdefault(layer.name, []).append(layer)
        for k, (name, values) in enumerate(saved):
            for layer in index.get(name, []):
                where = f"Layer #{k} (named '{layer.name}')"
                _plan_layer(plan, layer, values, where, skip_mismatch)
    else:
        if len(saved) != len(layers):
            raise ValueError(
                f"Layer count mismatch when loading weights into model '{model.name}': the "
                f"model has {len(layers)} layer(s) with weights {[lay.name for lay in layers]}, "
                f"but the file holds weights for {len(saved)} layer(s) "
                f"{[name for name, _ in saved]}."
            )
        for k, (layer, (name, values)) in enumerate(zip(layers, saved)):
            where = f"Layer #{k} (named '{layer.name}' in the model, '{name}' in the file)"
            _plan_layer(plan, layer, values, where, skip_mismatch, saved_name=name)
    if "top_level_model_weights" in group:
        _, values = _read_named(group["top_level_model_weights"])
        variables = own_weights(model)
        if len(values) != len(variables):
            message = (f"Model '{model.name}' has {len(variables)} top-level weight(s), but "
                       f"the file holds {len(values)}")
            if not skip_mismatch:
                raise ValueError(message + ".")
            warnings.warn(f"Skipping top-level weights: {message}.", stacklevel=3)
        else:
            plan_pairs(plan, variables, values, f"Model '{model.name}'", skip_mismatch,
                       stacklevel=3)
    return plan


def read_json_attr(root, name):
    """A root attribute holding JSON (`model_config`, `training_config`), or `None`."""
    import json

    if name not in root.attrs:
        return None
    return json.loads(_attr_text(root.attrs[name]))


def attr_text(root, name, default=None):
    return _attr_text(root.attrs[name]) if name in root.attrs else default
