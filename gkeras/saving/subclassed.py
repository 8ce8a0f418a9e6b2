"""The `model_config` of a saved model, and models rebuilt from it.

Functional and Sequential models are stored as their graph config. A subclassed model goes
beyond Keras: its class is stored by reference (`module` + `qualname`, plus the registered
name) with its `get_config()` and build input shape. `load_model` recreates it when the
class can be found (given in `custom_objects`, registered, or importable) and either
defines `get_config` or has an `__init__` that needs no arguments; it then builds it and
loads the weights. Otherwise the error explains how to load the weights by hand.
"""

import importlib
import inspect

_GRAPH_CLASSES = ("Functional", "Model", "Sequential")


def _shape_from_json(value):
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: _shape_from_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, (list, tuple)) or v is None for v in value) and any(
            isinstance(v, (list, tuple)) for v in value):
        return [_shape_from_json(v) for v in value]
    return tuple(value)


def _free_batch(shape):
    """The build shape with an unknown batch size (cheaper placeholder tracing)."""
    if isinstance(shape, dict):
        return {k: _free_batch(v) for k, v in shape.items()}
    if isinstance(shape, list):
        return [_free_batch(s) for s in shape]
    return (None,) + tuple(shape[1:]) if shape else shape


def model_config_of(model):
    """`{"class_name", "config", ...}` describing `model` for the file's `model_config`."""
    from gkeras.models.functional import Functional
    from gkeras.models.sequential import Sequential
    from gkeras.saving.serialization import get_registered_name

    cls = type(model)
    if cls in (Functional, Sequential):
        return {"class_name": cls.__name__, "config": model.get_config()}
    config = {
        "class_name": get_registered_name(cls),
        "config": model.get_config(),
        "module": cls.__module__,
        "qualname": cls.__qualname__,
    }
    build_shape = getattr(model, "_build_input_shape", None)
    if build_shape is not None:
        config["build_config"] = {"input_shape": build_shape}
    return config


def _import_class(module, qualname):
    if not module or not qualname or "<locals>" in qualname:
        return None
    try:
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return obj if inspect.isclass(obj) else None


def _overrides(cls, method):
    from gkeras.models.model import Model

    for klass in cls.__mro__:
        if klass is Model:
            return False
        if method in klass.__dict__:
            return True
    return False


def _required_init_args(cls):
    try:
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.default is p.empty
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _accepts(cls, name):
    try:
        params = inspect.signature(cls.__init__).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is p.VAR_KEYWORD for p in params)


def _how_to_load(class_name, filepath):
    return (f"To load the weights yourself: model = {class_name}(...); build it "
            f"(model.build(input_shape) or call it on data); model.load_weights({filepath!r}).")


def model_from_saved_config(config, custom_objects, filepath):
    """Recreates the (unweighted, built) model described by a file's `model_config`."""
    from gkeras.models.model import Model
    from gkeras.saving.serialization import (
        builtin_layers,
        deserialize_layer,
        get_registered_object,
    )

    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"The model config in {filepath} is malformed: {str(config)[:200]}")
    class_name = config["class_name"]
    cls = None
    for name in (config.get("registered_name"), class_name):
        if name:
            cls = cls or get_registered_object(name, custom_objects)
    if cls is None and class_name in _GRAPH_CLASSES:
        return deserialize_layer(config, custom_objects)
    if cls is None:
        cls = _import_class(config.get("module"), config.get("qualname"))
    if cls is None and class_name in builtin_layers():
        return deserialize_layer(config, custom_objects)
    if cls is None:
        where = f" (saved from module '{config['module']}')" if config.get("module") else ""
        raise ValueError(
            f"Cannot recreate the model in {filepath}: class '{class_name}'{where} cannot be "
            f"found. Pass it with load_model({filepath!r}, custom_objects={{'{class_name}': "
            f"{class_name.split('>')[-1]}}}) or register it with "
            f"@gkeras.saving.register_keras_serializable(). " + _how_to_load(class_name,
                                                                               filepath)
        )
    if not (inspect.isclass(cls) and issubclass(cls, Model)):
        return deserialize_layer(dict(config, class_name=class_name), custom_objects)
    model = _instantiate(cls, config.get("config") or {}, custom_objects, filepath)
    if not model.built:
        shape = _shape_from_json((config.get("build_config") or {}).get("input_shape"))
        if shape is None:
            raise ValueError(
                f"Cannot rebuild the weights of subclassed model '{class_name}' from "
                f"{filepath}: the file does not record the input shape it was built with. "
                + _how_to_load(class_name, filepath)
            )
        model.build(_free_batch(shape))
    return model


def _instantiate(cls, config, custom_objects, filepath):
    from gkeras.saving.serialization import call_from_config, custom_object_scope

    name = cls.__name__
    if cls.__module__.startswith("gkeras.") or _overrides(cls, "get_config") or _overrides(
            cls, "from_config"):
        with custom_object_scope(custom_objects):
            return call_from_config(cls, config, custom_objects)
    required = _required_init_args(cls)
    if required:
        raise ValueError(
            f"Cannot recreate subclassed model '{name}' from {filepath}: its __init__ requires "
            f"argument(s) {required} and the class does not define get_config() to supply "
            "them. Define get_config() (returning those arguments), or load the weights "
            "yourself. " + _how_to_load(name, filepath)
        )
    kwargs = {k: config[k] for k in ("name", "trainable") if k in config and _accepts(cls, k)}
    model = cls(**kwargs)
    if "name" in config and model.name != config["name"]:
        model.name = config["name"]  # keeps the saved weight paths meaningful
    return model
