"""Reading configs written by Keras 3 and tf.keras 2 into gkeras's built-in classes.

Keras configs carry arguments gkeras does not have (`quantization_config`, `renorm`,
`use_ema`, ...). An argument that is unknown to the gkeras class is dropped only when its
value means "feature off" (so dropping it cannot change what the object computes);
anything else is an error that names the layer, the argument and its value.
"""

import inspect

# argument -> predicate(config) saying that the saved value leaves the feature off
_OFF_WHEN = {
    "renorm_momentum": lambda c: not c.get("renorm"),
    "renorm_clipping": lambda c: not c.get("renorm"),
    "ema_momentum": lambda c: not c.get("use_ema"),
    "ema_overwrite_frequency": lambda c: not c.get("use_ema"),
    "data_format": lambda c: c.get("data_format") == "channels_last",
    "groups": lambda c: c.get("groups") == 1,
    "jit_compile": lambda c: True,  # a compilation hint only
    "is_legacy_optimizer": lambda c: True,
    "gradient_accumulation_steps": lambda c: c.get("gradient_accumulation_steps") in (None, 1),
    "loss_scale_factor": lambda c: c.get("loss_scale_factor") in (None, 1, 1.0),
    "autocast": lambda c: True,
    "input_length": lambda c: True,  # deprecated; Keras ignores it too
    # tf.keras 2 stores a built-in loss class's own function by name; the class implies it
    "fn": lambda c: isinstance(c.get("fn"), str),
}
# Arguments that gkeras's base classes take through **kwargs (Keras's Layer arguments; the
# optimizers' deprecated `lr` / `decay`).
_BASE_KWARGS = {
    ("gkeras.layers.layer", "Layer"): {"trainable", "name", "dtype", "input_shape", "input_dim",
                                       "batch_input_shape", "batch_size", "autocast"},
    ("gkeras.optimizers.base", "Optimizer"): {"lr", "decay"},
}
_NESTED_SUFFIXES = {"_initializer": "initializer", "_regularizer": "regularizer",
                    "_constraint": "constraint"}


def accepted_arguments(cls):
    """Names `cls(...)` accepts, following `**kwargs` up the class hierarchy.

    Returns:
        `(names, open_ended)`: the set of names, and whether some `__init__` at the top takes
        arbitrary `**kwargs` (then every name is accepted).
    """
    # arguments a class takes through **kwargs but declares (recurrent layers: their cell's)
    names = set(getattr(cls, "_kwargs_arguments", ()))
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            return names, True
        has_var_kw = False
        for p in params:
            if p.kind is p.VAR_KEYWORD:
                has_var_kw = True
            elif p.name != "self":
                names.add(p.name)
        if not has_var_kw:
            return names, False
        base = _BASE_KWARGS.get((klass.__module__, klass.__name__))
        if base is not None:
            return names | base, False
    return names, True


def _is_off(key, value, config):
    if key in _OFF_WHEN:
        return _OFF_WHEN[key](config)
    return value is None or value is False or value == {} or value == []


def drop_unsupported(cls, config, label):
    """A copy of `config` without the arguments `cls` lacks whose value keeps them off.

    Raises:
        ValueError: when an unsupported argument is set to a value that matters.
    """
    names, open_ended = accepted_arguments(cls)
    if open_ended:
        return dict(config)
    out = {}
    for key, value in config.items():
        if key in names:
            out[key] = value
        elif not _is_off(key, value, config):
            raise ValueError(
                f"{label}: the saved config sets {key}={value!r}, which gkeras's "
                f"{cls.__name__} does not support. Supported arguments: {sorted(names)}."
            )
    return out


def _is_builtin(cls):
    return cls.__module__.startswith("gkeras.")


def _clean_nested(kind, value, label):
    """Strips Keras-only `None` arguments from a nested initializer / regularizer config."""
    if not isinstance(value, dict) or "class_name" not in value:
        return value
    from gkeras.saving.serialization import builtin_objects

    cls = builtin_objects(kind).get(value["class_name"])
    inner = dict(value.get("config") or {})
    if cls is not None and _is_builtin(cls):
        inner = drop_unsupported(cls, inner, f"{label}, {kind} {value['class_name']}")
    return {"class_name": value["class_name"], "config": inner}


def normalize_layer_config(cls, config):
    """Adapts a Keras 3 / tf.keras 2 layer config to the gkeras class `cls`.

    Custom (non-gkeras) classes get their config untouched: their `from_config` decides.

    Returns:
        A new config dict for `cls.from_config`.
    """
    config = dict(config)
    if not _is_builtin(cls):
        return config
    name = config.get("name", "?")
    label = f"Layer '{name}' ({cls.__name__})"
    if cls.__name__ == "InputLayer":
        if "batch_input_shape" in config and config.get("batch_shape") is None:
            config["batch_shape"] = config.pop("batch_input_shape")
        for key in ("ragged", "optional"):
            if not config.get(key):
                config.pop(key, None)
    axis = config.get("axis")
    if isinstance(axis, list) and len(axis) == 1:
        config["axis"] = int(axis[0])  # tf.keras 2 stores BatchNormalization's axis as [3]
    for key, value in list(config.items()):
        for suffix, kind in _NESTED_SUFFIXES.items():
            if key.endswith(suffix):
                config[key] = _clean_nested(kind, value, label)
    return drop_unsupported(cls, config, label)


def normalize_object_config(cls, config, kind):
    """Adapts a saved optimizer / loss / metric config to the gkeras class `cls`."""
    config = dict(config or {})
    if not _is_builtin(cls):
        return config
    return drop_unsupported(cls, config, f"{kind} {cls.__name__}")
