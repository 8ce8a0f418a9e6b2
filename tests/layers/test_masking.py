"""Masks of padded sequences: made by Embedding(mask_zero=True), carried by the layers that
support masking, honoured by losses and metrics (Keras's semantics)."""

import numpy as np
import pytest

import gkeras as keras
from gkeras import layers

TOKENS = np.array([[1, 2, 0, 0], [3, 0, 0, 0], [4, 5, 6, 7]])
VALID = TOKENS != 0


def _masked_model(seed=0):
    inputs = keras.Input((4,), dtype="int32")
    embedded = layers.Embedding(8, 2, mask_zero=True)(inputs)
    outputs = layers.Dense(1)(embedded)
    model = keras.Model(inputs, outputs)
    rng = np.random.RandomState(seed)
    model.set_weights([rng.randn(*w.shape).astype("float32") for w in model.get_weights()])
    return model


def test_embedding_mask_reaches_the_output_through_dense():
    model = _masked_model()
    out = model(TOKENS)
    np.testing.assert_array_equal(out._keras_mask, VALID)


def test_loss_and_metrics_average_over_the_valid_steps_only():
    model = _masked_model()
    y = (np.arange(12, dtype="float32").reshape(3, 4, 1) / 10)
    model.compile(keras.optimizers.SGD(0.1), "mse", metrics=["mae"])
    pred = model.predict(TOKENS, verbose=0)[..., 0].astype("float64")
    err = pred - y[..., 0]
    result = model.evaluate(TOKENS, y, verbose=0, return_dict=True)
    # real Keras 3.15 gave loss 2.1497 and mae 1.12799 here (unmasked: 3.6816 and 1.6607)
    np.testing.assert_allclose(result["loss"], (err[VALID] ** 2).mean(), rtol=1e-5)
    np.testing.assert_allclose(result["mae"], np.abs(err[VALID]).mean(), rtol=1e-5)


def test_a_training_step_gets_no_gradient_from_padded_steps():
    model = _masked_model()
    y = (np.arange(12, dtype="float32").reshape(3, 4, 1) / 10)
    table, kernel, bias = [w.astype("float64") for w in model.get_weights()]
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(TOKENS, y, batch_size=3, epochs=1, shuffle=False, verbose=0)
    h = table[TOKENS]                      # (3, 4, 2) embedded tokens
    err = (h @ kernel)[..., 0] + bias[0] - y[..., 0]
    scale = 2 * VALID / VALID.sum()        # d(mean over valid steps of err^2)/d err
    expected_kernel = kernel - 0.1 * np.einsum("bt,btk->k", scale * err, h)[:, None]
    expected_bias = bias - 0.1 * (scale * err).sum()
    _, new_kernel, new_bias = model.get_weights()
    # real Keras 3.15 gave kernel [1.24313, -0.15733] here
    np.testing.assert_allclose(new_kernel, expected_kernel, rtol=1e-5)
    np.testing.assert_allclose(new_bias, expected_bias, rtol=1e-5)
    # a padded position's embedding row (id 0) gets no update at all
    np.testing.assert_array_equal(model.get_weights()[0][0], table[0].astype("float32"))


def test_mask_and_sample_weight_combine_in_metrics():
    model = _masked_model()
    y = np.ones((3, 4, 1), "float32")
    weights = np.array([1.0, 0.0, 2.0], "float32")
    model.compile("sgd", "mse", weighted_metrics=["mae"])
    err = np.abs(model.predict(TOKENS, verbose=0)[..., 0].astype("float64") - 1)
    per_step = VALID * weights[:, None]
    got = model.evaluate(TOKENS, y, sample_weight=weights, verbose=0, return_dict=True)
    np.testing.assert_allclose(got["mae"], (err * per_step).sum() / per_step.sum(), rtol=1e-5)
    # the loss: per-sample weights on every valid step, averaged as Keras's sum_over_batch_size
    # with a mask does (over the valid steps)
    np.testing.assert_allclose(got["loss"], (err ** 2 * per_step).sum() / VALID.sum(), rtol=1e-5)


def test_layers_without_masking_support_drop_the_mask():
    tokens = keras.Input((4,), dtype="int32")
    x = layers.Embedding(8, 3, mask_zero=True)(tokens)
    kept = layers.Dropout(0.5)(layers.Activation("relu")(layers.Dense(2)(x)))
    flat = layers.Flatten()(kept)
    model = keras.Model(tokens, [kept, flat])
    kept_out, flat_out = model(TOKENS)
    np.testing.assert_array_equal(kept_out._keras_mask, VALID)
    assert flat_out._keras_mask is None


def test_merge_layers_combine_masks_and_softmax_receives_the_mask():
    a = keras.Input((4,), dtype="int32")
    b = keras.Input((4,), dtype="int32")
    ea = layers.Embedding(8, 3, mask_zero=True)(a)
    eb = layers.Embedding(8, 3, mask_zero=True)(b)
    added = layers.Add()([ea, eb])
    model = keras.Model([a, b], added)
    other = np.array([[1, 0, 2, 0], [3, 3, 0, 0], [4, 5, 6, 0]])
    added_out = model([TOKENS, other])
    np.testing.assert_array_equal(added_out._keras_mask, VALID & (other != 0))

    softmax = layers.Softmax()
    x = keras.ops.convert_to_tensor(np.zeros((3, 4), "float32"))
    x._keras_mask = VALID
    probs = softmax(x).numpy()
    np.testing.assert_allclose(probs, VALID / VALID.sum(axis=1, keepdims=True), atol=1e-6)


def test_sequential_with_masking_embedding_masks_the_loss():
    model = keras.Sequential([layers.Embedding(8, 2, mask_zero=True), layers.Dense(1)])
    model.build((None, 4))
    y = np.zeros((3, 4, 1), "float32")
    model.compile("sgd", "mse")
    pred = model.predict(TOKENS, verbose=0)[..., 0].astype("float64")
    loss = model.evaluate(TOKENS, y, verbose=0)
    np.testing.assert_allclose(loss, (pred[VALID] ** 2).mean(), rtol=1e-5)
    assert not np.isclose(loss, (pred ** 2).mean(), rtol=1e-3)  # the mask made a difference


@pytest.mark.parametrize("mask_zero", [False, True])
def test_no_mask_without_mask_zero(mask_zero):
    out = layers.Dense(2)(layers.Embedding(8, 3, mask_zero=mask_zero)(TOKENS))
    if mask_zero:
        np.testing.assert_array_equal(out._keras_mask, VALID)
    else:
        assert out._keras_mask is None
