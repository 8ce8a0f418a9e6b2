"""Keras 3's `.keras` model format: a zip archive of three members.

```
metadata.json      {"keras_version": ..., "date_saved": "YYYY-mm-dd@HH:MM:SS"}
config.json        the model's serialized config, with "build_config" and "compile_config"
model.weights.h5   the weights (and optimizer state) in the `.weights.h5` layout
```

Keras stores members uncompressed; so does gkeras. gkeras adds `"gkeras_version"` to the
metadata (Keras ignores unknown keys): state written by gkeras is known to be in gkeras's
order.

Saving builds every member in memory, then writes the archive through
`atomic.atomic_write`, so an interrupted save leaves the previous file intact. Loading
reads and checks the whole archive (zip structure and CRCs, JSON, the HDF5 weights against
the rebuilt model) before it returns; a failure raises and hands back nothing.
"""

import contextlib
import datetime
import io
import json
import os
import zipfile

from gkeras.saving import atomic, weights_h5
from gkeras.saving import training_config as training_config_module

CONFIG_FILENAME = "config.json"
METADATA_FILENAME = "metadata.json"
WEIGHTS_FILENAME = "model.weights.h5"
_NPZ_WEIGHTS_FILENAME = "model.weights.npz"
GKERAS_KEY = "gkeras_version"
# A member that declares far more bytes than it stores is a decompression bomb; Keras
# itself writes members stored (1:1), and DEFLATE cannot exceed about 1032:1.
_BOMB_FLOOR_BYTES = 1 << 30
_MAX_EXPANSION = 100
# Keras's defaults for the compile arguments gkeras accepts but does not use (jit_compile:
# whether training steps may be replayed, see gkeras.training.traced_step).
_COMPILE_DEFAULTS = {"run_eagerly": False, "steps_per_execution": 1, "jit_compile": "auto"}


# --------------------------------------------------------------------------- saving
def _model_config(model):
    """`serialize_keras_object(model)` as Keras 3 writes it for the archive."""
    from gkeras.models.functional import Functional
    from gkeras.models.sequential import Sequential
    from gkeras.saving.serialization import get_registered_name
    from gkeras.saving.subclassed import model_config_of

    cls = type(model)
    config = model_config_of(model)
    if cls is Sequential:
        config.update(module="keras", registered_name=None)
    elif cls is Functional:
        config.update(module="keras.src.models.functional", registered_name="Functional")
    else:
        # Keras looks a custom class up by `registered_name`, then imports `module`;
        # gkeras also keeps `qualname` (nested classes)
        config["class_name"] = cls.__name__
        config["registered_name"] = get_registered_name(cls)
    build = model.get_build_config() if hasattr(model, "get_build_config") else None
    config["build_config"] = build if build is not None else {"input_shape": None}
    return config


def compile_config(model):
    """The model's compile arguments as Keras 3's `get_compile_config()` gives them, or
    `None` when it was not compiled."""
    from gkeras.saving.serialization import serialize_keras_object

    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        return None
    training = training_config_module.training_config(model)
    config = {"optimizer": serialize_keras_object(model.optimizer)}
    for key in ("loss", "loss_weights", "metrics", "weighted_metrics"):
        config[key] = training[key]
    config.update(_COMPILE_DEFAULTS)
    if getattr(model, "run_eagerly", None) is not None:
        config["run_eagerly"] = bool(model.run_eagerly)
    config["jit_compile"] = (model._compile_config or {}).get("jit_compile", "auto")
    return config


def _json_bytes(value, what):
    from gkeras.saving.model_io import _to_json

    return _to_json(value, what).encode("utf8")


def _weights_bytes(model, include_optimizer):
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        weights_h5.write(f, model, include_optimizer=include_optimizer)
    return buffer.getvalue()


def archive_members(model, include_optimizer=True):
    """`{member name: bytes}` of the `.keras` archive for `model` (nothing is written).

    Args:
        model: a built model.
        include_optimizer: store the optimizer state (the compile config is kept either
            way, as Keras does; a model loaded without the state starts with a fresh
            optimizer).

    Raises:
        ValueError: when a config is not JSON-serializable.
    """
    from gkeras.saving.model_io import _versions

    version, _ = _versions()
    config = _model_config(model)
    config["compile_config"] = compile_config(model)
    metadata = {"keras_version": version,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                GKERAS_KEY: version}
    return {METADATA_FILENAME: _json_bytes(metadata, "metadata"),
            CONFIG_FILENAME: _json_bytes(config, "model config"),
            WEIGHTS_FILENAME: _weights_bytes(model, include_optimizer)}


def save_archive(model, filepath, include_optimizer=True):
    """Writes `model` to `filepath` as a `.keras` archive, atomically.

    The caller (`model_io.save_model`) has checked the path, `overwrite` and that the
    model is built.
    """
    members = archive_members(model, include_optimizer)
    with atomic.atomic_write(filepath) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            for name, data in members.items():
                zf.writestr(name, data)


# -------------------------------------------------------------------------- reading
def _damaged(filepath, detail):
    return ValueError(f"Cannot read '{filepath}': the .keras archive is damaged or "
                      f"incomplete ({detail}).")


def read_members(filepath):
    """Reads and checks the archive at `filepath`.

    Returns:
        `(metadata, config, weights)`: the two JSON members as dicts and the weights file
        as bytes.

    Raises:
        FileNotFoundError: when nothing is at `filepath`.
        ValueError: for a directory, a file that is not a zip archive, a corrupt or
            truncated archive, a missing member or invalid JSON, naming the path.
    """
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No file or directory found at {filepath}")
    if os.path.isdir(filepath):
        raise ValueError(f"{filepath} is a directory; a .keras model is a zip archive file.")
    if not zipfile.is_zipfile(filepath):
        raise ValueError(
            f"Cannot read '{filepath}' ({os.path.getsize(filepath)} bytes): it is not a "
            ".keras zip archive. It may be empty, truncated by an interrupted write, or in "
            "another format (an HDF5 model needs the '.h5' extension)."
        )
    try:
        with zipfile.ZipFile(filepath, "r") as zf:
            names = set(zf.namelist())
            if WEIGHTS_FILENAME not in names and _NPZ_WEIGHTS_FILENAME in names:
                raise ValueError(
                    f"'{filepath}' stores its weights as {_NPZ_WEIGHTS_FILENAME} "
                    "(weights_format='npz'); gkeras reads the default h5 weights only.")
            missing = [n for n in (CONFIG_FILENAME, WEIGHTS_FILENAME) if n not in names]
            if missing:
                raise ValueError(
                    f"'{filepath}' is a zip archive but not a .keras model: member(s) "
                    f"{missing} missing (found {sorted(names)[:10]}).")
            contents = {name: _read_member(zf, name, filepath)
                        for name in (CONFIG_FILENAME, METADATA_FILENAME, WEIGHTS_FILENAME)
                        if name in names}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as err:
        raise _damaged(filepath, f"{type(err).__name__}: {err}") from None
    metadata = (_parse_json(contents[METADATA_FILENAME], METADATA_FILENAME, filepath)
                if METADATA_FILENAME in contents else {})
    config = _parse_json(contents[CONFIG_FILENAME], CONFIG_FILENAME, filepath)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"'{filepath}': {CONFIG_FILENAME} holds no model config "
                         f"(expected a dict with 'class_name'; got {str(config)[:200]}).")
    if not isinstance(metadata, dict):
        raise ValueError(f"'{filepath}': {METADATA_FILENAME} is not a JSON object.")
    return metadata, config, contents[WEIGHTS_FILENAME]


def _read_member(zf, name, filepath):
    info = zf.getinfo(name)
    if info.file_size > _BOMB_FLOOR_BYTES and info.file_size > (
            _MAX_EXPANSION * max(info.compress_size, 1)):
        raise ValueError(
            f"'{filepath}': member '{name}' declares {info.file_size} bytes but stores "
            f"{info.compress_size}; refusing to load a potential decompression bomb.")
    return zf.read(name)  # checks the member's CRC


def _parse_json(data, name, filepath):
    try:
        return json.loads(data.decode("utf8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ValueError(f"'{filepath}': {name} is not valid JSON ({err}).") from None


def find_lambdas(config, path="config"):
    """Paths of Keras's bytecode lambdas (`{"class_name": "__lambda__"}`) in a config."""
    found = []
    if isinstance(config, dict):
        if config.get("class_name") == "__lambda__":
            found.append(path)
        for key, value in config.items():
            found += find_lambdas(value, f"{path}.{key}")
    elif isinstance(config, list):
        for index, value in enumerate(config):
            found += find_lambdas(value, f"{path}[{index}]")
    return found


def _refuse_lambdas(config, filepath, safe_mode):
    lambdas = find_lambdas(config)
    if not lambdas:
        return
    if safe_mode:
        raise ValueError(
            f"Cannot load '{filepath}': it requests the deserialization of a Python lambda "
            f"(at {lambdas[0]}). This carries a potential risk of arbitrary code execution "
            "and thus it is disallowed by default (safe_mode=True).")
    raise ValueError(
        f"Cannot load '{filepath}': it holds a Python lambda saved as bytecode (at "
        f"{lambdas[0]}). gkeras never executes bytecode from files, even with "
        "safe_mode=False: re-create the layer with a named function and pass it through "
        "`custom_objects`.")


@contextlib.contextmanager
def _open_weights(data, filepath):
    import h5py

    try:
        f = h5py.File(io.BytesIO(data), "r")
    except OSError as err:
        raise ValueError(f"Cannot read '{filepath}': its {WEIGHTS_FILENAME} is not a valid "
                         f"HDF5 file ({err}).") from None
    try:
        yield f
    except (OSError, KeyError, RuntimeError, TypeError) as err:
        raise _damaged(filepath, f"{WEIGHTS_FILENAME}: {type(err).__name__}: {err}") from err
    finally:
        f.close()


def _training_config(compile_cfg, filepath):
    """Keras 3's `compile_config` in the shape `training_config.compile_from_config`
    reads."""
    if not isinstance(compile_cfg, dict) or "optimizer" not in compile_cfg:
        raise ValueError(f"'{filepath}': the saved compile_config is malformed: "
                         f"{str(compile_cfg)[:200]}")
    optimizer = compile_cfg["optimizer"]
    if isinstance(optimizer, str):
        from gkeras import optimizers
        from gkeras.saving.serialization import serialize_keras_object

        optimizer = serialize_keras_object(optimizers.get(optimizer))
    training = {k: compile_cfg.get(k) for k in
                ("loss", "metrics", "weighted_metrics", "loss_weights", "jit_compile")}
    training["optimizer_config"] = optimizer
    return training


# gkeras optimizers whose per-variable slots Keras 3 creates interleaved in this order
# (`add_optimizer_variables(var_list, [...])`): its unnamed state lines up with gkeras's.
_KERAS3_INTERLEAVED = {
    "Adam": ("momentum", "velocity"), "AdamW": ("momentum", "velocity"),
    "Adamax": ("m", "u"),  # Keras: momentum, norm
    "Adadelta": ("accumulated_grad", "accumulated_delta_var"),
    "Ftrl": ("accumulator", "linear"),
}


def _order_is_known(model, trusted):
    """Whether unnamed saved optimizer state can be matched to gkeras's slots: written by
    gkeras, or by Keras for an optimizer whose slot order is known (one slot per
    variable, or the interleaved pairs above). Counts and shapes are checked later."""
    if trusted:
        return True
    optimizer = model.optimizer
    if not type(optimizer).__module__.startswith("gkeras."):
        return False
    if not getattr(optimizer, "built", True) and hasattr(optimizer, "build"):
        optimizer.build(model.trainable_weights)
    slots = getattr(optimizer, "_slots", None)
    if slots is None or getattr(optimizer, "_global_slots", None):
        return False
    expected = _KERAS3_INTERLEAVED.get(type(optimizer).__name__)
    return all(len(s) <= 1 or tuple(s) == expected for s in slots.values())


def load_archive(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model from a `.keras` archive written by gkeras or Keras 3.

    Args:
        filepath: the `.keras` file.
        custom_objects: `{name: class or function}` for user-defined objects.
        compile: compile the model with the saved compile config and restore the
            optimizer state.
        safe_mode: refuse Python lambdas stored as bytecode (gkeras refuses them either
            way, with a message that says so).

    Returns:
        The model, with its weights (and, when compiled, its optimizer state).

    Raises:
        ValueError: for an unreadable, corrupt or incomplete archive, an unknown class, or
            weights that do not match the config, naming the path.
    """
    from gkeras.saving.model_io import assign
    from gkeras.saving.serialization import custom_object_scope
    from gkeras.saving.subclassed import model_from_saved_config

    metadata, config, weights = read_members(filepath)
    _refuse_lambdas(config, filepath, safe_mode)
    compile_cfg = config.get("compile_config") if compile else None
    training = _training_config(compile_cfg, filepath) if compile_cfg else None
    with custom_object_scope(custom_objects):
        model = model_from_saved_config(config, custom_objects, filepath)
        if training is not None:
            # compiled first, so the weight plan also reads the optimizer's group
            training_config_module.compile_from_config(model, training, custom_objects)
        with _open_weights(weights, filepath) as f:
            pairs, optimizer_values = weights_h5.plan(f, model)
    assign(pairs)
    if training is not None and optimizer_values:
        trusted = _order_is_known(model, GKERAS_KEY in metadata)
        training_config_module.restore_optimizer(model, optimizer_values, filepath,
                                                 trusted=trusted)
    return model
