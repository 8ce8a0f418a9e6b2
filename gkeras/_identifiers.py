"""Keras-style identifiers: a name, a `{"class_name", "config"}` dict, a class or a callable.

`initializers.get`, `regularizers.get` and `constraints.get` accept the same forms and differ
only in their tables of names, so they share `resolve` (and `serialize` for the way back);
their base classes share `Configurable`, the config round trip both rely on. Losses and
metrics share `deserialize`, the way back from their saved configs.
"""


class Configurable:
    """An object whose config is its constructor's keyword arguments."""

    def get_config(self):
        """The constructor arguments that recreate this object (none by default)."""
        return {}

    @classmethod
    def from_config(cls, cfg):
        """Creates an object from the output of `get_config`."""
        return cls(**cfg)


def resolve(identifier, kind, names, classes, normalize=None):
    """Returns the object an identifier stands for.

    Args:
        identifier: `None` (returned as is), a name, a `{"class_name", "config"}` dict, a
            class (instantiated with its defaults) or a callable (returned as is).
        kind: what is being resolved, for error messages (`"initializer"`, ...).
        names: `{name: zero-argument factory}` of the Keras names; the valid names listed
            in the error for an unknown one.
        classes: `{class name or name: class}` that dicts may name; names given as strings
            are looked up here too when `names` lacks them.
        normalize: optional `str -> str` applied to a name found in neither table before a
            last lookup in `names`.

    Returns:
        The object, or `None` for `None`.

    Raises:
        ValueError: for an unknown name (listing the valid ones) or class, or anything else.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        class_name = identifier.get("class_name")
        cls = classes.get(class_name)
        if cls is None:  # a user class, registered or given in custom_objects while loading
            from gkeras.saving.serialization import get_registered_object

            cls = get_registered_object(class_name)
        if cls is None:
            raise ValueError(f"Unknown {kind} class: {class_name!r}.")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        factory = names.get(identifier) or classes.get(identifier)
        if factory is None and normalize is not None:
            factory = names.get(normalize(identifier))
        if factory is None:
            # a user function or class saved by name: custom_objects, scopes, registrations
            from gkeras.saving.serialization import get_registered_object

            custom = get_registered_object(identifier)
            if custom is not None:
                return custom() if isinstance(custom, type) else custom
            raise ValueError(
                f"Unknown {kind}: {identifier!r}. Valid names are: {sorted(names)}; a custom "
                f"{kind} must be passed in `custom_objects` or registered."
            )
        return factory()
    if isinstance(identifier, type):
        return identifier()  # a class, as Keras accepts: instantiate it with its defaults
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}.")


def serialize(obj, base):
    """`{"class_name", "config"}` for an instance of `base`, else `obj.__name__` (or `None`)."""
    if isinstance(obj, base):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    return getattr(obj, "__name__", None)


def deserialize(config, custom_objects, kind, kinds, classes, get, fn_wrapper):
    """Rebuilds a loss or metric from its `serialize` output (a name or a config dict).

    Args:
        config: a name, or a `{"class_name", "config"}` dict.
        custom_objects: `{name: class or function}` for user-defined objects, or `None`.
        kind, kinds: `"loss"` / `"losses"` or `"metric"` / `"metrics"`, for error messages.
        classes: `{class name: class}` of the built-in classes.
        get: the module's `get`, which turns a name or a function into an object.
        fn_wrapper: the class wrapping a plain function; its `fn` config entry may name a
            function in `custom_objects`.
    """
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        return get(custom_objects.get(config, config))
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"Could not deserialize {kind} from {config!r}: expected a name or a dict with "
            "'class_name' and 'config'."
        )
    class_name = config["class_name"]
    inner = dict(config.get("config") or {})
    cls = custom_objects.get(class_name) or classes.get(class_name)
    if cls is None:
        raise ValueError(
            f"Unknown {kind} class {class_name!r}. Valid classes are: {sorted(classes)}; "
            f"pass user-defined {kinds} through `custom_objects`."
        )
    if cls is fn_wrapper and isinstance(inner.get("fn"), str) and inner["fn"] in custom_objects:
        inner["fn"] = custom_objects[inner["fn"]]
    return cls.from_config(inner)
