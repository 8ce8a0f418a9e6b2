"""`save_model` / `load_model` / `save_weights` / `load_weights`: Keras's `.keras` archive
(see `keras_archive`) and HDF5 in Keras's layouts.

Saving builds everything in memory first (configs as JSON, weights as arrays), writes a
temporary file and renames it over the target (`atomic.atomic_write`). Loading reads and
checks the whole file before the first weight is assigned, so a bad file changes nothing.
"""

import contextlib
import json
import os
import sys

import numpy as np

from gkeras.saving import atomic, hdf5_format, keras_archive, weights_h5
from gkeras.saving import training_config as training_config_module
from gkeras.saving.subclassed import model_config_of, model_from_saved_config

_MODEL_SUFFIXES = (".h5", ".hdf5")
# Root attribute marking files gkeras wrote (Keras ignores unknown attributes): their
# optimizer state is known to be in gkeras's order.
GKERAS_MARK = "gkeras_version"


def _h5py():
    import h5py

    return h5py


def _versions():
    import gkeras
    from gkeras import backend as backend_module

    return str(gkeras.__version__), backend_module.get_backend().name


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"Cannot store {value!r} (of type {type(value).__name__}) in a JSON config.")


def _to_json(value, what):
    try:
        return json.dumps(value, default=_json_default)
    except TypeError as err:
        raise ValueError(f"Cannot save the {what}: it is not JSON-serializable ({err}).") from None


def _path(filepath, what):
    if isinstance(filepath, os.PathLike):
        filepath = os.fspath(filepath)
    if not isinstance(filepath, str) or not filepath:
        raise TypeError(f"{what}: `filepath` must be a path string; received {filepath!r}.")
    return filepath


def _may_write(filepath, overwrite):
    """Keras's `overwrite=False`: ask on a terminal, refuse elsewhere."""
    if overwrite or not os.path.exists(filepath):
        return True
    if sys.stdin is not None and sys.stdin.isatty():
        while True:
            answer = input(f"[WARNING] {filepath} already exists - overwrite? [y/n] ")
            if answer.strip().lower() in ("y", "n"):
                return answer.strip().lower() == "y"
    raise FileExistsError(
        f"{filepath} already exists and overwrite=False; pass overwrite=True to replace it."
    )


def _require_built(model, action):
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' has not been built yet, so it has no weights to {action}. "
            "Build it first: call it on data, call model.build(input_shape), or give it an "
            "Input."
        )


# --------------------------------------------------------------------------- saving
def save_model(model, filepath, overwrite=True, include_optimizer=True, **kwargs):
    """Saves a model to one file: Keras 3's `.keras` zip archive, or HDF5.

    Stores the architecture, the weights, the compile arguments and, with
    `include_optimizer`, the optimizer state, so that `load_model` returns a model that
    predicts and goes on training exactly as this one. The write is atomic: an interrupted
    save leaves the previous file intact.

    - `.keras`: Keras 3's default format (`metadata.json`, `config.json`,
      `model.weights.h5`), readable by Keras 3.
    - `.h5` / `.hdf5`: Keras's legacy HDF5 layout (`model_config`, `training_config`,
      `model_weights`, `optimizer_weights`).

    Subclassed models are stored with their class reference (`module`, `qualname`,
    registered name), `get_config()` and build input shape.

    Args:
        model: the model.
        filepath: a path ending in `.keras`, `.h5` or `.hdf5`.
        overwrite: replace an existing file (otherwise ask on a terminal, else refuse).
        include_optimizer: store the optimizer state (and, in HDF5, the compile
            arguments; a `.keras` file keeps the compile config either way, as in Keras).

    Raises:
        ValueError: for another suffix, an unbuilt model, or a config that is not
            JSON-serializable.
    """
    filepath = _path(filepath, "save_model")
    save_format = kwargs.pop("save_format", None)
    if kwargs:
        raise TypeError(f"save_model() got unexpected keyword argument(s) {sorted(kwargs)}.")
    if filepath.endswith(".keras"):
        if save_format not in (None, "keras"):
            raise ValueError(
                f"save_format={save_format!r} does not match the '.keras' extension of "
                f"{filepath!r}; leave save_format out (the extension decides).")
        _require_built(model, "save")
        if _may_write(filepath, overwrite):
            keras_archive.save_archive(model, filepath, include_optimizer=include_optimizer)
        return
    if save_format not in (None, "h5", "hdf5") or not filepath.endswith(_MODEL_SUFFIXES):
        raise ValueError(
            f"Invalid filepath extension for saving: {filepath!r}. Use a path ending in "
            "'.keras' (Keras 3's zip format) or '.h5' / '.hdf5' (Keras's HDF5 format)."
        )
    _require_built(model, "save")
    if not _may_write(filepath, overwrite):
        return
    keras_version, backend_name = _versions()
    model_json = _to_json(model_config_of(model), "model config")
    training_json = None
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and getattr(model, "compiled", False) and optimizer is not None:
        training_json = _to_json(training_config_module.training_config(model),
                                 "training config")
    with atomic.atomic_write(filepath) as tmp, _h5py().File(tmp, "w") as f:
        f.attrs["keras_version"] = keras_version.encode("utf8")
        f.attrs["backend"] = backend_name.encode("utf8")
        f.attrs[GKERAS_MARK] = keras_version.encode("utf8")
        f.attrs["model_config"] = model_json.encode("utf8")
        if training_json is not None:
            f.attrs["training_config"] = training_json.encode("utf8")
        hdf5_format.write_model_weights(f.create_group("model_weights"), model,
                                        keras_version, backend_name)
        if training_json is not None:
            hdf5_format.write_optimizer_weights(f, optimizer)


def save_weights(model, filepath, overwrite=True, **kwargs):
    """Saves the weights only: Keras 3's layout for `*.weights.h5`, the legacy one for `*.h5`.

    Raises:
        ValueError: for a path without an HDF5 suffix, or an unbuilt model.
    """
    filepath = _path(filepath, "save_weights")
    save_format = kwargs.pop("save_format", None)
    kwargs.pop("options", None)
    if kwargs:
        raise TypeError(f"save_weights() got unexpected keyword argument(s) {sorted(kwargs)}.")
    if save_format not in (None, "h5") or not filepath.endswith(_MODEL_SUFFIXES):
        raise ValueError(
            f"Invalid filepath for save_weights: {filepath!r}. Use a path ending in "
            "'.weights.h5' (Keras 3 layout) or '.h5' / '.hdf5' (legacy Keras layout)."
        )
    _require_built(model, "save")
    if not _may_write(filepath, overwrite):
        return
    keras_version, backend_name = _versions()
    with atomic.atomic_write(filepath) as tmp, _h5py().File(tmp, "w") as f:
        f.attrs[GKERAS_MARK] = keras_version.encode("utf8")
        if filepath.endswith(".weights.h5"):
            weights_h5.write(f, model)
        else:
            hdf5_format.write_model_weights(f, model, keras_version, backend_name)


# -------------------------------------------------------------------------- reading
@contextlib.contextmanager
def open_hdf5(filepath):
    """Opens `filepath` for reading; a missing, empty, truncated or foreign file gives a
    clear error naming the path. Errors while reading inside the block are reported the
    same way."""
    h5py = _h5py()
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No file or directory found at {filepath}")
    if os.path.isdir(filepath):
        raise ValueError(
            f"{filepath} is a directory; gkeras reads models and weights from HDF5 files "
            "(.h5, .hdf5, .weights.h5)."
        )
    try:
        f = h5py.File(filepath, "r")
    except OSError as err:
        size = os.path.getsize(filepath)
        raise ValueError(
            f"Cannot read '{filepath}' ({size} bytes): it is not a valid HDF5 file. It may be "
            f"empty, truncated by an interrupted write, or in another format. ({err})"
        ) from None
    try:
        yield f
    except (OSError, KeyError, RuntimeError, TypeError) as err:
        raise ValueError(f"Cannot read '{filepath}': the file is damaged or incomplete "
                         f"({type(err).__name__}: {err}).") from err
    finally:
        f.close()


def assign(pairs):
    """Writes every `(variable, array)` pair; called only after all were checked."""
    for variable, value in pairs:
        variable.assign(np.asarray(value).astype(variable.dtype, copy=False))


def load_weights(model, filepath, skip_mismatch=False, by_name=False, **kwargs):
    """Loads weights from a `.weights.h5` (Keras 3) or legacy `.h5` file into `model`.

    The layout is recognised from the file's content. Nothing is assigned unless the whole
    file fits the model.

    Args:
        model: a built model.
        filepath: the file.
        skip_mismatch: skip (with a warning) layers or weights that do not fit.
        by_name: legacy layout only: match layers by name.

    Raises:
        ValueError: on any mismatch (naming the layer index, name and both shapes) or an
            unreadable file (naming the path).
    """
    filepath = _path(filepath, "load_weights")
    kwargs.pop("options", None)
    if kwargs:
        raise TypeError(f"load_weights() got unexpected keyword argument(s) {sorted(kwargs)}.")
    _require_built(model, "load")
    with open_hdf5(filepath) as f:
        trusted = GKERAS_MARK in f.attrs
        if weights_h5.is_keras3_weights_file(f):
            if by_name:
                raise ValueError(
                    f"by_name=True is only supported for legacy .h5 weight files; "
                    f"'{filepath}' has Keras 3's .weights.h5 layout, which is matched by "
                    "structure."
                )
            pairs, optimizer_values = weights_h5.plan(f, model, skip_mismatch=skip_mismatch)
        else:
            optimizer_values = None
            group = f
            if "layer_names" not in f.attrs and "model_weights" in f:
                group = f["model_weights"]  # a full model file
            if "layer_names" not in group.attrs:
                raise ValueError(
                    f"'{filepath}' is an HDF5 file but holds no Keras weights: neither the "
                    "legacy layout (attribute 'layer_names') nor Keras 3's .weights.h5 layout "
                    "('layers/.../vars')."
                )
            pairs = hdf5_format.plan_model_weights(group, model, skip_mismatch, by_name)
    assign(pairs)
    if optimizer_values is not None and getattr(model, "optimizer", None) is not None:
        training_config_module.restore_optimizer(model, optimizer_values, filepath,
                                                 trusted=trusted)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved by `save_model` / `model.save` (or by Keras).

    A path ending in `.keras` is read as Keras 3's zip archive, anything else as HDF5.

    Args:
        filepath: the `.keras` or `.h5` file.
        custom_objects: `{name: class or function}` for user-defined layers, losses,
            metrics and subclassed model classes.
        compile: compile the model with the saved training config and restore the
            optimizer state.
        safe_mode: refuse Python lambdas saved as bytecode in a `.keras` file (gkeras
            never runs such bytecode; with `safe_mode=False` the error says so).

    Returns:
        The model, with its weights (and, when compiled, its optimizer state).

    Raises:
        ValueError: for a weights-only file, an unknown class, a file that does not match
            its own config, or an unreadable file.
    """
    filepath = _path(filepath, "load_model")
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(
            f"custom_objects must be a dict of name -> class or function; received "
            f"{type(custom_objects).__name__}."
        )
    if filepath.endswith(".keras"):
        return keras_archive.load_archive(filepath, custom_objects=custom_objects,
                                          compile=compile, safe_mode=safe_mode)
    from gkeras.saving.serialization import custom_object_scope

    with open_hdf5(filepath) as f, custom_object_scope(custom_objects):
        config = hdf5_format.read_json_attr(f, "model_config")
        if config is None:
            raise ValueError(
                f"No model config found in the file at {filepath}: it holds weights only. "
                "Create the model in code, then call model.load_weights(filepath)."
            )
        model = model_from_saved_config(config, custom_objects, filepath)
        if "model_weights" not in f:
            raise ValueError(f"'{filepath}' has a model config but no 'model_weights' group.")
        pairs = hdf5_format.plan_model_weights(f["model_weights"], model)
        training = hdf5_format.read_json_attr(f, "training_config") if compile else None
        optimizer_names, optimizer_values = (hdf5_format.read_optimizer_weights(f)
                                             if training else ([], []))
        trusted = GKERAS_MARK in f.attrs
    assign(pairs)
    if training is not None:
        training_config_module.compile_from_config(model, training, custom_objects)
        training_config_module.restore_optimizer(model, optimizer_values, filepath,
                                                 names=optimizer_names, trusted=trusted)
    return model
