"""Models (`keras.models`): `Model`, `Sequential`, and saving / loading entry points."""

from gkeras.models.functional import Functional  # noqa: F401
from gkeras.models.model import Model  # noqa: F401
from gkeras.models.sequential import Sequential  # noqa: F401


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved with `model.save()` (`.keras` or HDF5); see
    `gkeras.saving.load_model`."""
    from gkeras.saving import load_model as _load

    return _load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def clone_model(model, input_tensors=None, clone_function=None):
    """A new model with the same architecture and freshly initialised weights."""
    config = model.get_config()
    return type(model).from_config(config)


def model_from_json(json_string, custom_objects=None):
    """Creates a model (with fresh weights) from the JSON string `model.to_json()` gives.

    Args:
        json_string: the JSON architecture.
        custom_objects: `{name: class or function}` for custom layers and functions.

    Returns:
        The model, built where its config says how.
    """
    import json

    from gkeras.saving.serialization import custom_object_scope
    from gkeras.saving.subclassed import model_from_saved_config

    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"model_from_json: not a JSON model description ({exc}).") from None
    with custom_object_scope(custom_objects):
        return model_from_saved_config(config, custom_objects, "the JSON string")
