"""Serialization registry: Keras objects <-> `{"class_name", "config"}` dicts.

Classes are found by name in this order: the `custom_objects` given to the call, the
innermost `custom_object_scope`, the global registry (`register_keras_serializable`,
`get_custom_objects()`), then gkeras's built-in classes of the kind being loaded (layers,
models, losses, metrics, optimizers, initializers, ...).
"""

import contextlib
import inspect
import threading

import numpy as np

_GLOBAL_CUSTOM_OBJECTS = {}
_GLOBAL_CUSTOM_NAMES = {}
_SCOPES = threading.local()


# ------------------------------------------------------------------------- registry
def register_keras_serializable(package="Custom", name=None):
    """Registers a class or function under `"<package>><name>"` so saved files can name it.

    Args:
        package: the namespace of the registered name (`"Custom"` by default).
        name: the short name; the object's `__name__` by default.

    Returns:
        A decorator that registers its argument and returns it unchanged.

    Example:

    ```python
    @gkeras.saving.register_keras_serializable(package="my_package")
    class MyLayer(gkeras.layers.Layer):
        ...
    ```
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(
            f"`package` must be a string without '>'; received package={package!r}."
        )

    def decorator(obj):
        short = name if name is not None else getattr(obj, "__name__", None)
        if not isinstance(short, str) or not short:
            raise ValueError(f"Cannot register {obj!r}: it has no __name__; pass `name=`.")
        registered = f"{package}>{short}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(
                f"Cannot register class {obj.__name__}: it has no get_config() method, so it "
                "could not be serialized."
            )
        _GLOBAL_CUSTOM_OBJECTS[registered] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = registered
        return obj

    return decorator


def get_custom_objects():
    """The global `{name: object}` registry (a live dict: adding to it registers objects).

    Returns:
        The dict that `register_keras_serializable` fills.
    """
    return _GLOBAL_CUSTOM_OBJECTS


def get_registered_name(obj):
    """The name `obj` is registered under, else its `__name__`."""
    if obj in _GLOBAL_CUSTOM_NAMES:
        return _GLOBAL_CUSTOM_NAMES[obj]
    return getattr(obj, "__name__", None)


def _scope_objects():
    merged = {}
    for objects in getattr(_SCOPES, "stack", []):
        merged.update(objects)
    return merged


@contextlib.contextmanager
def custom_object_scope(custom_objects):
    """Makes `custom_objects` (`{name: class or function}`) visible to nested loads.

    Example:

    ```python
    with gkeras.saving.custom_object_scope({"MyLayer": MyLayer}):
        model = gkeras.models.load_model("model.h5")
    ```
    """
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(
            f"custom_objects must be a dict of name -> class or function; received "
            f"{type(custom_objects).__name__}."
        )
    stack = getattr(_SCOPES, "stack", None)
    if stack is None:
        stack = _SCOPES.stack = []
    stack.append(dict(custom_objects or {}))
    try:
        yield
    finally:
        stack.pop()


CustomObjectScope = custom_object_scope


def get_registered_object(name, custom_objects=None, module_objects=None):
    """Looks `name` up in custom objects, scopes, the global registry, then `module_objects`.

    Returns:
        The class or function, or `None` when nothing matches.
    """
    for source in (custom_objects or {}, _scope_objects(), _GLOBAL_CUSTOM_OBJECTS,
                   module_objects or {}):
        if name in source:
            return source[name]
    return None


# ------------------------------------------------------------ built-in classes by kind
def builtin_layers():
    """`{class name: class}` of every layer and model class gkeras ships."""
    from gkeras import layers as layers_module
    from gkeras.layers.layer import Layer
    from gkeras.models import Functional, Sequential

    table = {}
    for attr, value in vars(layers_module).items():
        if inspect.isclass(value) and issubclass(value, Layer):
            table.setdefault(value.__name__, value)
            table.setdefault(attr, value)  # aliases such as Convolution2D
    # tf.keras < 2.4 named functional models "Model"
    table.update(Functional=Functional, Model=Functional, Sequential=Sequential)
    return table


def _module_classes(module_name):
    import importlib

    module = importlib.import_module(module_name)
    return {name: value for name, value in vars(module).items()
            if inspect.isclass(value) and not name.startswith("_")}


def builtin_objects(kind):
    """Built-in classes of one kind: `layer`, `optimizer`, `loss`, `metric`, `initializer`,
    `regularizer`, `constraint` (an empty dict when that package is missing)."""
    if kind == "layer":
        return builtin_layers()
    package = {"optimizer": "gkeras.optimizers", "loss": "gkeras.losses",
               "metric": "gkeras.metrics", "initializer": "gkeras.initializers",
               "regularizer": "gkeras.regularizers",
               "constraint": "gkeras.constraints"}.get(kind)
    if package is None:
        raise ValueError(
            f"Unknown object kind {kind!r}; valid kinds: layer, optimizer, loss, metric, "
            "initializer, regularizer, constraint."
        )
    try:
        return _module_classes(package)
    except ImportError:
        return {}


# ---------------------------------------------------------------------- serialize
def serialize_keras_object(obj):
    """A JSON-ready description of `obj`.

    Objects with `get_config` become `{"module", "class_name", "config", "registered_name"}`;
    functions become their (registered) name; containers and NumPy scalars are converted
    element by element; plain values pass through.

    Returns:
        A dict, list, string, number, bool or `None`.
    """
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(item) for item in obj]
    if isinstance(obj, dict):
        return {key: serialize_keras_object(value) for key, value in obj.items()}
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return get_registered_name(obj)
    if hasattr(obj, "get_config"):
        cls = type(obj)
        registered = _GLOBAL_CUSTOM_NAMES.get(cls)
        module = cls.__module__
        public = module.startswith("gkeras.")
        return {
            "module": _public_module(module) if public else module,
            "class_name": cls.__name__,
            "config": serialize_keras_object(obj.get_config()),
            "registered_name": registered or (None if public else cls.__name__),
        }
    raise TypeError(
        f"Cannot serialize {obj!r} (of type {type(obj).__name__}): it is neither a plain "
        "value nor an object with get_config()."
    )


def _public_module(module):
    # gkeras.layers.core -> keras.layers: the namespace Keras uses in its configs
    parts = module.split(".")
    return "keras." + parts[1] if len(parts) > 1 else "keras"


# -------------------------------------------------------------------- deserialize
def deserialize_keras_object(config, custom_objects=None, module_objects=None,
                             printable_module_name="object"):
    """Rebuilds an object from `serialize_keras_object`'s output (or a Keras config).

    Args:
        config: a `{"class_name", "config"}` dict, a registered or built-in name, or a plain
            value (returned as is).
        custom_objects: `{name: class or function}` for user-defined objects.
        module_objects: `{name: class}` of the built-ins to search (all layers and models
            by default).
        printable_module_name: the kind of object, for error messages (`"layer"`, ...).

    Returns:
        The object: `cls.from_config(config)` for classes, the function for names.

    Raises:
        ValueError: when the class or function is unknown, listing where it was looked for.
    """
    if module_objects is None:
        module_objects = builtin_layers()
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, str):
        found = get_registered_object(config, custom_objects, module_objects)
        if found is None:
            raise ValueError(_unknown(printable_module_name, config, module_objects))
        return found() if inspect.isclass(found) else found
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(c, custom_objects, module_objects,
                                         printable_module_name) for c in config]
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"Could not deserialize {printable_module_name} from {config!r}: expected a name "
            "or a dict with 'class_name' and 'config'."
        )
    cls = resolve_class(config, custom_objects, module_objects, printable_module_name)
    inner = config.get("config") or {}
    if not inspect.isclass(cls):
        return cls  # a registered function serialized as an object
    with custom_object_scope(custom_objects):
        return call_from_config(cls, inner, custom_objects)


def deserialize_layer(config, custom_objects=None):
    """Rebuilds a layer (or a nested model) from a Keras / gkeras layer config.

    Configs written by Keras 3 or tf.keras 2 are adapted to gkeras's built-in classes (see
    `keras_compat`); user classes receive their config unchanged.

    Raises:
        ValueError: for an unknown class or an unsupported saved argument, naming the layer.
    """
    from gkeras.models.model import Model
    from gkeras.saving.keras_compat import normalize_layer_config

    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"Could not deserialize layer from {config!r}: expected a dict with 'class_name' "
            "and 'config'."
        )
    cls = resolve_class(config, custom_objects, builtin_layers(), "layer")
    inner = config.get("config") or {}
    if not inspect.isclass(cls):
        raise ValueError(f"'{config['class_name']}' names {cls!r}, which is not a layer class.")
    if not issubclass(cls, Model):
        inner = normalize_layer_config(cls, inner)
    with custom_object_scope(custom_objects):
        return call_from_config(cls, inner, custom_objects)


def resolve_class(config, custom_objects, module_objects, printable_module_name="object"):
    """The class a `{"class_name", "registered_name", ...}` dict names."""
    class_name = config["class_name"]
    candidates = [config.get("registered_name"), class_name]
    if isinstance(class_name, str) and ">" in class_name:
        candidates.append(class_name.split(">", 1)[1])  # tf.keras 2 writes "Custom>Adam"
    for name in candidates:
        if not name:
            continue
        found = get_registered_object(name, custom_objects, module_objects)
        if found is not None:
            return found
    raise ValueError(_unknown(printable_module_name, class_name, module_objects))


def call_from_config(cls, config, custom_objects=None):
    """`cls.from_config(config)`, passing `custom_objects` where `from_config` takes it."""
    try:
        params = inspect.signature(cls.from_config).parameters
    except (TypeError, ValueError):
        params = {}
    if "custom_objects" in params:
        return cls.from_config(config, custom_objects=custom_objects)
    return cls.from_config(config)


def _unknown(kind, name, module_objects):
    known = sorted(k for k in (module_objects or {}) if not k.startswith("_"))
    return (
        f"Unknown {kind}: {name!r}. Please ensure you are using a gkeras / Keras class, or "
        "pass the class through `custom_objects={'" + str(name) + "': TheClass}` or register "
        f"it with @gkeras.saving.register_keras_serializable(). Known built-ins: {known}."
    )
