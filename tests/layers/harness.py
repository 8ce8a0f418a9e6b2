"""The shared layer-test harness: every layer goes through `run_layer_test`.

It checks, for one layer class and its constructor arguments:

- an eager call on NumPy data: output shape and dtype, `built`, weight counts and paths,
  `count_params`, the number of losses, deterministic inference, `compute_output_shape`;
- a symbolic call on `gkeras.Input` tensors: a `KerasTensor` of the right shape and dtype;
- one training step (loss = sum(outputs * random projection) + layer losses, backward, plain
  SGD through `Variable.assign`, constraints applied) that changes EVERY trainable weight and
  gives non-trainable ones no gradient; then `trainable = False` freezes everything;
- `get_config()` / `from_config()` (also through JSON) giving the same config and, with the same
  weights, the same output;
- an HDF5 round trip of `get_weights()` stored by weight path, read back with `set_weights`;
- with `floatx` set to float64: float64 output and weights, and the layer's gradients with
  respect to its float inputs and trainable weights against central differences.
"""

import json
import os
import tempfile

import h5py
import numpy as np

import gkeras
from gkeras import backend as backend_module
from gkeras.autodiff import Tensor, Variable
from gkeras.layers.node import KerasTensor


def run_layer_test(
    layer_cls,
    init_kwargs=None,
    input_shape=None,
    input_dtype=None,
    input_data=None,
    call_kwargs=None,
    expected_output_shape=None,
    expected_output_dtype=None,
    expected_num_trainable_weights=0,
    expected_num_non_trainable_weights=0,
    expected_num_losses=0,
    run_training_check=True,
    run_symbolic_check=True,
    run_float64_check=True,
    run_gradient_check=True,
    deterministic_training=True,
    seed=0,
):
    """Runs every generic check on `layer_cls(**init_kwargs)`; returns the tested layer.

    Args:
        layer_cls: the layer class.
        init_kwargs: constructor arguments.
        input_shape: the full input shape including the batch, or a list of shapes for a
            layer taking a list of inputs. Ignored when `input_data` is given.
        input_dtype: dtype of generated inputs (`floatx()` by default; integer inputs are
            drawn from [0, 10), so an Embedding needs `input_dim >= 10`).
        input_data: NumPy input (or list of arrays); floats are cast to `floatx()` in the
            float64 pass.
        call_kwargs: extra keyword arguments for every call.
        expected_output_shape: full output shape for the given input.
        expected_output_dtype: output dtype (`floatx()` by default).
        expected_num_trainable_weights, expected_num_non_trainable_weights: weight counts.
        expected_num_losses: `len(layer.losses)` after one call.
        run_training_check: run the training step (and the freeze check).
        run_symbolic_check: run the `gkeras.Input` check.
        run_float64_check: run the float64 pass.
        run_gradient_check: compare gradients with central differences in float64.
        deterministic_training: `False` for layers random in training (Dropout): the gradient
            check then runs in inference mode.
        seed: seed of the generated data and projections.

    Returns:
        The layer built in the float32 pass.
    """
    init_kwargs = dict(init_kwargs or {})
    call_kwargs = dict(call_kwargs or {})
    assert expected_output_shape is not None, "expected_output_shape is required"
    rng = np.random.default_rng(seed)
    data = _make_inputs(input_shape, input_dtype, input_data, rng)
    floatx = gkeras.config.floatx()
    out_dtype = np.dtype(expected_output_dtype or floatx)
    counts = (expected_num_trainable_weights, expected_num_non_trainable_weights)

    layer = layer_cls(**init_kwargs)
    output = _check_eager_call(layer, data, call_kwargs, expected_output_shape, out_dtype,
                               counts, expected_num_losses)
    if run_symbolic_check:
        _check_symbolic_call(layer_cls, init_kwargs, data, call_kwargs, expected_output_shape,
                             out_dtype, counts)
    config = _check_config_round_trip(layer, layer_cls, data, call_kwargs, output)
    _check_hdf5_round_trip(layer, layer_cls, config, data, call_kwargs, output)
    if run_training_check:
        _check_training_step(layer, data, call_kwargs, rng)
        _check_freezing(layer, data, call_kwargs)
    if run_float64_check and floatx != "float64":
        gkeras.config.set_floatx("float64")
        try:
            data64 = _cast_float(data, "float64")
            layer64 = layer_cls(**init_kwargs)
            out64 = _call(layer64, data64, call_kwargs, training=False)
            assert out64.dtype == np.dtype(expected_output_dtype or "float64"), (
                f"float64 pass: output dtype {out64.dtype}")
            for w in layer64.weights:
                if w.dtype.kind == "f":
                    assert w.dtype == np.float64, f"float64 pass: weight {w.path} is {w.dtype}"
            if run_gradient_check:
                check_layer_gradients(layer64, data64, call_kwargs,
                                      training=deterministic_training, seed=seed)
        finally:
            gkeras.config.set_floatx(floatx)
    return layer


# ----------------------------------------------------------------------------- pieces
# `data` keeps the structure the layer is called with: one array, or a list of arrays.
def _make_inputs(input_shape, input_dtype, input_data, rng):
    if input_data is not None:
        if isinstance(input_data, list):
            return [np.asarray(a) for a in input_data]
        return np.asarray(input_data)
    assert input_shape is not None, "give input_shape or input_data"
    dtype = np.dtype(input_dtype or gkeras.config.floatx())

    def draw(shape):
        if dtype.kind in "iu":
            return rng.integers(0, 10, size=shape).astype(dtype)
        return rng.standard_normal(shape).astype(dtype)

    if isinstance(input_shape, list):
        return [draw(shape) for shape in input_shape]
    return draw(input_shape)


def _arrays(data):
    return list(data) if isinstance(data, list) else [data]


def _rebuild(data, arrays):
    return list(arrays) if isinstance(data, list) else arrays[0]


def _cast_float(data, dtype):
    return _rebuild(data, [a.astype(dtype) if a.dtype.kind == "f" else a
                           for a in _arrays(data)])


def _call(layer, data, call_kwargs, training):
    return layer(data, training=training, **call_kwargs)


def _shapes(data):
    if isinstance(data, list):
        return [tuple(a.shape) for a in data]
    return tuple(data.shape)


def _check_eager_call(layer, data, call_kwargs, expected_shape, out_dtype, counts, n_losses):
    name = type(layer).__name__
    output = _call(layer, data, call_kwargs, training=False)
    assert isinstance(output, Tensor), f"{name} returned {type(output).__name__}, not a Tensor"
    assert output.shape == tuple(expected_shape), (
        f"{name}: output shape {output.shape}, expected {tuple(expected_shape)}")
    assert output.dtype == out_dtype, f"{name}: output dtype {output.dtype}, expected {out_dtype}"
    assert layer.built, f"{name} is not built after a call"
    n_trainable, n_non_trainable = counts
    assert len(layer.trainable_weights) == n_trainable, (
        f"{name}: {len(layer.trainable_weights)} trainable weights, expected {n_trainable}")
    assert len(layer.non_trainable_weights) == n_non_trainable, (
        f"{name}: {len(layer.non_trainable_weights)} non-trainable weights, expected "
        f"{n_non_trainable}")
    assert len(layer.weights) == n_trainable + n_non_trainable
    paths = [w.path for w in layer.weights]
    assert len(set(paths)) == len(paths), f"{name}: duplicate weight paths {paths}"
    for w in layer.weights:
        assert isinstance(w, Variable)
        # a weight may sit on a sub-layer (a recurrent layer's cell: lstm/lstm_cell/kernel)
        assert w.path.startswith(f"{layer.name}/") and w.path.endswith(f"/{w.name}"), (
            f"{name}: weight path {w.path}")
        if w.dtype.kind == "f":
            assert w.dtype == np.dtype(gkeras.config.floatx()), f"{w.path} has dtype {w.dtype}"
    arrays = layer.get_weights()
    assert all(isinstance(a, np.ndarray) for a in arrays)
    assert [a.shape for a in arrays] == [w.shape for w in layer.weights]
    assert layer.count_params() == sum(int(np.prod(w.shape)) for w in layer.weights)
    assert len(layer.losses) == n_losses, (
        f"{name}: {len(layer.losses)} losses after one call, expected {n_losses}")
    host = output.numpy()
    if host.dtype.kind == "f":
        assert np.all(np.isfinite(host)), f"{name}: non-finite outputs"
    again = _call(layer, data, call_kwargs, training=False).numpy()
    np.testing.assert_array_equal(again, host, err_msg=f"{name}: inference is not deterministic")
    computed = layer.compute_output_shape(_shapes(data))
    assert tuple(computed) == tuple(expected_shape), (
        f"{name}.compute_output_shape gave {computed}, expected {tuple(expected_shape)}")
    layer._clear_added_losses()
    return host


def _check_symbolic_call(layer_cls, init_kwargs, data, call_kwargs, expected_shape, out_dtype,
                         counts):
    layer = layer_cls(**init_kwargs)
    inputs = _rebuild(data, [gkeras.Input(shape=a.shape[1:], dtype=a.dtype.name)
                             for a in _arrays(data)])
    result = layer(inputs, **call_kwargs)
    name = type(layer).__name__
    assert isinstance(result, KerasTensor), f"{name} on Input gave {type(result).__name__}"
    expected = (None,) + tuple(expected_shape)[1:]
    assert result.shape == expected, f"{name}: symbolic shape {result.shape}, expected {expected}"
    assert np.dtype(result.dtype) == out_dtype, f"{name}: symbolic dtype {result.dtype}"
    assert layer.built
    assert (len(layer.trainable_weights), len(layer.non_trainable_weights)) == tuple(counts)
    # the symbolically built layer then runs on real data
    out = _call(layer, data, call_kwargs, training=False)
    assert out.shape == tuple(expected_shape)


def _check_config_round_trip(layer, layer_cls, data, call_kwargs, output):
    name = type(layer).__name__
    config = layer.get_config()
    assert isinstance(config, dict) and config.get("name") == layer.name
    text = json.dumps(config)  # Keras stores configs as JSON: they must serialise
    for source in (config, json.loads(text)):
        clone = layer_cls.from_config(source)
        assert _normalized(clone.get_config()) == _normalized(config), (
            f"{name}: from_config(get_config()) changed the config:\n{clone.get_config()}\n"
            f"!=\n{config}")
        _call(clone, data, call_kwargs, training=False)  # builds the weights
        clone.set_weights(layer.get_weights())
        result = _call(clone, data, call_kwargs, training=False).numpy()
        np.testing.assert_allclose(result, output, rtol=1e-6, atol=1e-6,
                                   err_msg=f"{name}: from_config clone computes differently")
    return config


def _normalized(config):
    return json.loads(json.dumps(config))


def _check_hdf5_round_trip(layer, layer_cls, config, data, call_kwargs, output):
    name = type(layer).__name__
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "weights.h5")
        with h5py.File(path, "w") as f:
            for w, array in zip(layer.weights, layer.get_weights()):
                f.create_dataset(w.path, data=array)
        fresh = layer_cls.from_config(config)
        _call(fresh, data, call_kwargs, training=False)
        with h5py.File(path, "r") as f:
            stored = []
            f.visititems(lambda key, obj: stored.append(key) if isinstance(obj, h5py.Dataset)
                         else None)
            assert sorted(stored) == sorted(w.path for w in fresh.weights), (
                f"{name}: stored paths {stored} do not match {[w.path for w in fresh.weights]}")
            fresh.set_weights([f[w.path][()] for w in fresh.weights])
    for original, restored in zip(layer.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(restored, original)
    result = _call(fresh, data, call_kwargs, training=False).numpy()
    np.testing.assert_array_equal(result, output, err_msg=f"{name}: HDF5 round trip differs")


def _projected_loss(output, projection):
    return gkeras.ops.sum(gkeras.ops.multiply(output, projection))


def _check_training_step(layer, data, call_kwargs, rng, learning_rate=0.1):
    name = type(layer).__name__
    bk = backend_module.get_backend()
    layer._clear_added_losses()
    output = _call(layer, data, call_kwargs, training=True)
    projection = Tensor(bk.asarray(rng.standard_normal(output.shape).astype(output.dtype)))
    loss = _projected_loss(output, projection)
    for penalty in layer.losses:
        loss = gkeras.ops.add(loss, penalty)
    before = [w.numpy().copy() for w in layer.weights]
    for w in layer.weights:
        w.grad = None
    if loss.requires_grad:
        loss.backward()
    for w, old in zip(layer.weights, before):
        if not w.trainable:
            assert w.grad is None, f"{name}: non-trainable weight {w.path} got a gradient"
            continue
        assert w.grad is not None, f"{name}: trainable weight {w.path} got no gradient"
        grad = backend_module.backend_of(w.grad).to_numpy(w.grad)
        assert grad.shape == w.shape, f"{name}: gradient of {w.path} has shape {grad.shape}"
        assert np.all(np.isfinite(grad)), f"{name}: non-finite gradient for {w.path}"
        w.assign(old - learning_rate * grad)
        if w.constraint is not None:
            w.assign(w.constraint(w.data))
        w.grad = None
        assert np.any(w.numpy() != old), f"{name}: the SGD step left {w.path} unchanged"
    layer._clear_added_losses()


def _check_freezing(layer, data, call_kwargs):
    name = type(layer).__name__
    total = len(layer.weights)
    layer.trainable = False
    try:
        assert layer.trainable_weights == [], f"{name}: frozen layer has trainable weights"
        assert len(layer.non_trainable_weights) == total
        output = _call(layer, data, call_kwargs, training=True)
        if output.requires_grad:
            gkeras.ops.sum(output).backward()
        assert all(w.grad is None for w in layer.weights), f"{name}: frozen weights got grads"
    finally:
        layer.trainable = True
        layer._clear_added_losses()


def check_layer_gradients(layer, data, call_kwargs=None, training=True, seed=0, eps=1e-6,
                          rtol=1e-5, atol=1e-6):
    """Compares the layer's gradients with central differences (float64 layer and data).

    For a fixed random projection `v` the scalar `sum(v * layer(x))` is differentiated with
    respect to every float input and every trainable weight; each analytic gradient `g` is
    checked along a random direction `d`: `(f(+eps d) - f(-eps d)) / 2 eps == <g, d>`.
    """
    call_kwargs = dict(call_kwargs or {})
    bk = backend_module.get_backend()
    rng = np.random.default_rng(seed + 1)
    name = type(layer).__name__
    arrays = _arrays(data)
    float_idx = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    leaves = [Variable(bk.asarray(a.copy())) if i in float_idx else a
              for i, a in enumerate(arrays)]
    output = _call(layer, _rebuild(data, leaves), call_kwargs, training=training)
    v = rng.standard_normal(output.shape)
    projection = Tensor(bk.asarray(v))

    def scalar(values):
        out = _call(layer, _rebuild(data, values), call_kwargs, training=training)
        return float((out.numpy() * v).sum())

    for w in layer.weights:
        w.grad = None
    loss = _projected_loss(output, projection)
    if not loss.requires_grad:
        assert not float_idx and not layer.trainable_weights
        return
    loss.backward()
    targets = [("input", i) for i in float_idx] + [("weight", w) for w in layer.trainable_weights]
    for kind, target in targets:
        if kind == "input":
            grad_dev = leaves[target].grad
            base = arrays[target]
        else:
            grad_dev = target.grad
            base = target.numpy().copy()
        label = f"{name}: {kind} {target if kind == 'input' else target.path}"
        assert grad_dev is not None, f"{label} got no gradient"
        grad = backend_module.backend_of(grad_dev).to_numpy(grad_dev)
        direction = rng.standard_normal(base.shape)
        values = []
        for sign in (1.0, -1.0):
            shifted = base + sign * eps * direction
            if kind == "input":
                perturbed = list(arrays)
                perturbed[target] = shifted
                values.append(scalar(perturbed))
            else:
                target.assign(shifted)
                values.append(scalar(arrays))
        if kind == "weight":
            target.assign(base)
        numeric = (values[0] - values[1]) / (2 * eps)
        analytic = float((grad * direction).sum())
        np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol,
                                   err_msg=f"{label}: gradient disagrees with finite differences")
    for w in layer.weights:
        w.grad = None
    layer._clear_added_losses()
