"""EinsumDense, MultiHeadAttention, Attention: float64 NumPy references, real-Keras outputs for
fixed weights (tests/data/attention/record_attention.py), gradients, masks, configs, weights
files and a small Transformer block that trains."""

import json
import os

import h5py
import numpy as np
import pytest
from helpers import check_gradients

import gkeras
from gkeras import layers
from gkeras.layers.attention import Attention, MultiHeadAttention
from gkeras.layers.einsum_dense import EinsumDense

from . import harness

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "attention")


@pytest.fixture(scope="module")
def ref():
    with np.load(os.path.join(DATA, "attention_references.npz")) as f:
        return dict(f)


def _case(ref, case, prefix):
    items = []
    while f"{case}/{prefix}_{len(items)}" in ref:
        items.append(ref[f"{case}/{prefix}_{len(items)}"])
    return items


def _np(t):
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


# ------------------------------------------------------------------ NumPy references
def _np_softmax_masked(scores, mask):
    """Softmax over the last axis; `False` entries of `mask` get exactly zero, and a row
    with no allowed entry is all zeros (Keras 3's masked softmax)."""
    if mask is None:
        mask = np.ones(scores.shape, bool)
    mask = np.broadcast_to(mask, scores.shape)
    out = np.zeros_like(scores)
    for index in np.ndindex(scores.shape[:-1]):
        row, keep = scores[index], mask[index]
        if keep.any():
            e = np.exp(row[keep] - row[keep].max())
            out[index][keep] = e / e.sum()
    return out


def _np_mha(q, v, k, weights, num_heads, key_dim, mask=None, use_bias=True):
    """Multi-head attention with explicit loops over batch and heads, in float64.

    `weights` are in Keras's order: query, key, value, output (kernel then bias each);
    `mask` is boolean `(B, T, S)` or broadcastable."""
    w = [np.asarray(a, np.float64) for a in weights]
    if use_bias:
        wq, bq, wk, bk_, wv, bv, wo, bo = w
    else:
        (wq, wk, wv, wo), bq = w, None
        bk_ = bv = bo = None
    q, v, k = (np.asarray(a, np.float64) for a in (q, v, k))
    B, T, S = q.shape[0], q.shape[1], v.shape[1]
    out = np.zeros((B, T) + wo.shape[2:])
    probs = np.zeros((B, num_heads, T, S))
    full_mask = np.ones((B, T, S), bool) if mask is None else np.broadcast_to(mask, (B, T, S))
    for b in range(B):
        for n in range(num_heads):
            Q = q[b] @ wq[:, n, :] + (0 if bq is None else bq[n])  # (T, key_dim)
            K = k[b] @ wk[:, n, :] + (0 if bk_ is None else bk_[n])
            V = v[b] @ wv[:, n, :] + (0 if bv is None else bv[n])
            scores = (Q / np.sqrt(key_dim)) @ K.T
            p = _np_softmax_masked(scores, full_mask[b])
            probs[b, n] = p
            heads = p @ V  # (T, value_dim)
            out[b] += np.tensordot(heads, wo[n], axes=([1], [0]))
    if bo is not None:
        out += bo
    return out, probs


def _np_attention(q, v, k, scale=1.0, concat_weight=None, q_mask=None, v_mask=None,
                  causal=False):
    q, v, k = (np.asarray(a, np.float64) for a in (q, v, k))
    B, Tq, Tv = q.shape[0], q.shape[1], v.shape[1]
    scores = np.zeros((B, Tq, Tv))
    for b in range(B):
        for i in range(Tq):
            for j in range(Tv):
                if concat_weight is None:
                    scores[b, i, j] = scale * q[b, i] @ k[b, j]
                else:
                    scores[b, i, j] = concat_weight * np.tanh(scale * (q[b, i] + k[b, j])).sum()
    allowed = np.ones((B, Tq, Tv), bool)
    if v_mask is not None:
        allowed &= v_mask[:, None, :]
    if causal:
        allowed &= np.tril(np.ones((Tq, Tv), bool))[None]
    scores = np.where(allowed, scores, scores - 1e9)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    p = e / e.sum(-1, keepdims=True)
    out = p @ v
    if q_mask is not None:
        out = out * q_mask[..., None]
    return out, p


# ======================================================================= EinsumDense
EINSUM_CASES = {
    "einsum_heads": ("abc,cde->abde", (None, 3, 4), "de", None),
    "einsum_dense": ("ab,bc->ac", 4, "c", "relu"),
    "einsum_left": ("...b,bc->...c", 4, "c", None),
    "einsum_right": ("ab...,bc->ac...", 4, "c", "tanh"),
    "einsum_nobias": ("abc,cd->abd", (None, 4), None, None),
    "einsum_partial_bias": ("abc,cde->abde", (None, 3, 4), "d", None),
}


@pytest.mark.parametrize("case", sorted(EINSUM_CASES))
def test_einsum_dense_matches_keras(ref, case):
    equation, output_shape, bias_axes, activation = EINSUM_CASES[case]
    (x,), weights = _case(ref, case, "input"), _case(ref, case, "weight")
    layer = EinsumDense(equation, output_shape, bias_axes=bias_axes, activation=activation)
    layer.build(x.shape)
    assert [tuple(w.shape) for w in layer.weights] == [w.shape for w in weights]
    layer.set_weights(weights)
    np.testing.assert_allclose(_np(layer(x)), ref[f"{case}/output_0"], rtol=1e-5, atol=1e-6)
    # the reported shape is the true one; Keras leaves sizes the input fixes as None (and
    # reverses left-elided axes), so only its known sizes of plain equations are compared
    computed = layer.compute_output_shape((None,) + x.shape[1:])
    assert computed == (None,) + ref[f"{case}/output_0"].shape[1:]
    if "..." not in equation:
        keras_shape = ref[f"{case}/output_shape_spec"]
        assert all(np.isnan(k) or k == c for k, c in zip(keras_shape, computed))
    # an independent float64 reference: NumPy's own einsum (ellipsis included)
    kernel = np.asarray(weights[0], np.float64)
    y = np.einsum(equation, x.astype(np.float64), kernel)
    if bias_axes is not None:
        y = y + np.asarray(weights[1], np.float64)
    y = {"relu": lambda a: np.maximum(a, 0), "tanh": np.tanh}.get(activation, lambda a: a)(y)
    np.testing.assert_allclose(_np(layer(x)), y, rtol=1e-5, atol=1e-5)


def test_einsum_dense_shapes_and_symbolic():
    layer = EinsumDense("abc,cde->abde", output_shape=(None, 3, 4), bias_axes="de")
    y = layer(gkeras.Input((None, 6)))
    assert y.shape == (None, None, 3, 4)
    assert layer(gkeras.Input((7, 6))).shape == (None, 7, 3, 4)
    assert [(w.path, w.shape) for w in layer.weights] == [
        (f"{layer.name}/kernel", (6, 3, 4)), (f"{layer.name}/bias", (3, 4))]
    assert layer(np.zeros((2, 7, 6), "float32")).shape == (2, 7, 3, 4)
    # an int output_shape means one output axis
    assert EinsumDense("ab,bc->ac", 5)(np.zeros((3, 2), "float32")).shape == (3, 5)


@pytest.mark.parametrize("equation,output_shape,bias_axes,shape,expected", [
    ("abc,cde->abde", (None, 3, 4), "de", (2, 5, 6), (2, 5, 3, 4)),
    ("...b,bc->...c", 4, "c", (2, 3, 5), (2, 3, 4)),
])
def test_einsum_dense_harness(equation, output_shape, bias_axes, shape, expected):
    harness.run_layer_test(
        EinsumDense, {"equation": equation, "output_shape": output_shape,
                      "bias_axes": bias_axes, "bias_initializer": "random_normal"},
        input_shape=shape, expected_output_shape=expected,
        expected_num_trainable_weights=2)


@pytest.mark.parametrize("kwargs,shape,match", [
    ({"equation": "ab->b", "output_shape": 3}, (2, 4), "invalid einsum equation"),
    ({"equation": "ab,bc->ac", "output_shape": 3, "bias_axes": "z"}, (2, 4),
     "(?i)Bias dimension 'z'"),
    ({"equation": "abc,cd->abd", "output_shape": (5, 3)}, (2, 4, 6),
     "do not match at shared dimension 'b'"),
    ({"equation": "ab,bcx->ac", "output_shape": 3}, (2, 4), "(?i)Weight dimension 'x'"),
    ({"equation": "ab,bc->acq", "output_shape": (3, 2)}, (2, 4), "(?i)Dimension 'q'"),
    ({"equation": "ab,bc->ac", "output_shape": (3, 2)}, (2, 4), "does not fit"),
])
def test_einsum_dense_bad_arguments(kwargs, shape, match):
    with pytest.raises(ValueError, match=match) as info:
        EinsumDense(name="bad_einsum", **kwargs)(np.zeros(shape, "float32"))
    assert "bad_einsum" in str(info.value)


def test_einsum_dense_type_errors():
    with pytest.raises(TypeError, match="equation"):
        EinsumDense(3, 4)
    with pytest.raises(ValueError, match="LoRA"):
        EinsumDense("ab,bc->ac", 4, lora_rank=2)


def test_einsum_dense_gradients():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 2, 3)), rng.normal(size=(2, 3))
    with _floatx("float64"):
        layer = EinsumDense("abc,cde->abde", (None, 2, 3), bias_axes="de", activation="tanh")
        layer.build(x.shape)

        def fn(x_, w_, b_):
            layer.kernel, layer.bias = w_, b_
            return layer.call(x_)

        check_gradients(fn, x, w, b)


class _floatx:
    def __init__(self, dtype):
        self.dtype = dtype

    def __enter__(self):
        self.previous = gkeras.backend.floatx()
        gkeras.backend.set_floatx(self.dtype)

    def __exit__(self, *exc):
        gkeras.backend.set_floatx(self.previous)


def test_einsum_dense_kernel_fans_follow_the_equation():
    # Keras 3 counts the contracted kernel axes as fan-in and the output ones as fan-out:
    # kernel (64, 4, 8) of "abc,cde->abde" has fans 64 and 32, glorot limit sqrt(6 / 96)
    layer = EinsumDense("abc,cde->abde", (None, 4, 8), kernel_initializer="glorot_uniform")
    layer.build((None, 3, 64))
    kernel = layer.get_weights()[0]
    limit = np.sqrt(6.0 / (64 + 32))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.95 * limit
    np.testing.assert_allclose(kernel.var(), limit ** 2 / 3, rtol=0.1)
    # the output projection "abcd,cde->abe" (heads, head size) -> features: fans 32 and 16
    out = EinsumDense("abcd,cde->abe", (None, 16), kernel_initializer="he_normal")
    out.build((None, 3, 4, 8))
    np.testing.assert_allclose(out.get_weights()[0].std(), np.sqrt(2.0 / 32), rtol=0.1)


def test_einsum_dense_config_round_trip():
    layer = EinsumDense("abc,cde->abde", (None, 3, 4), bias_axes="de", activation="relu",
                        kernel_regularizer="l2")
    config = json.loads(json.dumps(layer.get_config()))
    clone = EinsumDense.from_config(config)
    assert clone.get_config() == layer.get_config() | {"output_shape": (None, 3, 4)}
    x = np.random.default_rng(1).normal(size=(2, 5, 6)).astype("float32")
    layer(x)
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(_np(clone(x)), _np(layer(x)))


# ================================================================ MultiHeadAttention
def _mha_from_weights(weights, build_args, **kwargs):
    layer = MultiHeadAttention(**kwargs)
    layer.build(*build_args)
    layer.set_weights(weights)
    return layer


def test_mha_weights_layout():
    layer = MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4, name="mha")
    layer(np.zeros((1, 5, 8), "float32"), np.zeros((1, 6, 7), "float32"))
    assert [(w.path, w.shape) for w in layer.weights] == [
        ("mha/query/kernel", (8, 2, 3)), ("mha/query/bias", (2, 3)),
        ("mha/key/kernel", (7, 2, 3)), ("mha/key/bias", (2, 3)),
        ("mha/value/kernel", (7, 2, 4)), ("mha/value/bias", (2, 4)),
        ("mha/attention_output/kernel", (2, 4, 8)), ("mha/attention_output/bias", (8,))]
    assert layer.count_params() == 8 * 6 + 6 + 7 * 6 + 6 + 7 * 8 + 8 + 8 * 8 + 8


def test_mha_cross_attention_matches_keras(ref):
    q, v, k = _case(ref, "mha_cross", "input")
    weights = _case(ref, "mha_cross", "weight")
    layer = _mha_from_weights(weights, (q.shape, v.shape, k.shape), num_heads=2, key_dim=3,
                              value_dim=4)
    out, scores = layer(q, v, key=k, return_attention_scores=True)
    np.testing.assert_allclose(_np(out), ref["mha_cross/output_0"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_np(scores), ref["mha_cross/output_1"], rtol=1e-4, atol=1e-6)
    expected_out, expected_scores = _np_mha(q, v, k, weights, 2, 3)
    np.testing.assert_allclose(_np(out), expected_out, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_np(scores), expected_scores, rtol=1e-4, atol=1e-6)


def test_mha_attention_and_causal_masks_match_keras(ref):
    (x,) = _case(ref, "mha_masks", "input")
    weights, mask = _case(ref, "mha_masks", "weight"), ref["mha_masks/mask_0"]
    layer = _mha_from_weights(weights, (x.shape, x.shape), num_heads=3, key_dim=2,
                              use_bias=False, output_shape=(5,))
    expected = _case(ref, "mha_masks", "output")
    causal = np.tril(np.ones((4, 4), bool))
    runs = [({"attention_mask": mask}, mask), ({"use_causal_mask": True}, causal),
            ({"attention_mask": mask, "use_causal_mask": True}, mask & causal)]
    for i, (kwargs, allowed) in enumerate(runs):
        out, scores = layer(x, x, return_attention_scores=True, **kwargs)
        assert out.shape == (2, 4, 5)
        np.testing.assert_allclose(_np(out), expected[2 * i], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(_np(scores), expected[2 * i + 1], rtol=1e-4, atol=1e-6)
        ref_out, ref_scores = _np_mha(x, x, x, weights, 3, 2, allowed, use_bias=False)
        np.testing.assert_allclose(_np(out), ref_out, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(_np(scores), ref_scores, rtol=1e-4, atol=1e-6)
    # the fully masked query row of the fixture has zero probabilities, as in Keras
    assert not mask[1, 2].any()
    np.testing.assert_array_equal(_np(layer(x, x, attention_mask=mask,
                                            return_attention_scores=True)[1])[1, :, 2], 0.0)


def _embedding_mha_model(num_heads, key_dim, value_dim=None, two_inputs=True, **call_kwargs):
    in_q = gkeras.Input((None,), dtype="int32")
    emb_q = layers.Embedding(10, 6, mask_zero=True)
    mha = MultiHeadAttention(num_heads=num_heads, key_dim=key_dim, value_dim=value_dim)
    if two_inputs:
        in_v = gkeras.Input((None,), dtype="int32")
        emb_v = layers.Embedding(10, 6, mask_zero=True)
        outputs = mha(emb_q(in_q), emb_v(in_v), return_attention_scores=True, **call_kwargs)
        return gkeras.Model([in_q, in_v], list(outputs))
    h = emb_q(in_q)
    return gkeras.Model(in_q, list(mha(h, h, return_attention_scores=True, **call_kwargs)))


def test_mha_implicit_masks_match_keras(ref):
    ids_q, ids_v = ref["mha_implicit/ids_0"], ref["mha_implicit/ids_1"]
    model = _embedding_mha_model(2, 3)
    weights = _case(ref, "mha_implicit", "weight")
    model.set_weights(weights)
    out, scores = model([ids_q, ids_v])
    np.testing.assert_allclose(_np(out), ref["mha_implicit/output_0"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_np(scores), ref["mha_implicit/output_1"], rtol=1e-4,
                               atol=1e-6)
    # the same as an explicit mask: query positions AND value positions
    emb_q, emb_v = weights[0][ids_q], weights[1][ids_v]
    allowed = (ids_q != 0)[:, :, None] & (ids_v != 0)[:, None, :]
    ref_out, ref_scores = _np_mha(emb_q, emb_v, emb_v, weights[2:], 2, 3, allowed)
    np.testing.assert_allclose(_np(out), ref_out, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_np(scores), ref_scores, rtol=1e-4, atol=1e-6)
    # the weights file Keras wrote for this model lines up with ours
    fresh = _embedding_mha_model(2, 3)
    fresh.load_weights(os.path.join(DATA, "keras3_mha_model.weights.h5"))
    for a, b in zip(fresh.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


def test_mha_implicit_mask_with_causal_matches_keras(ref):
    ids = ref["mha_implicit_causal/ids_0"]
    model = _embedding_mha_model(2, 4, value_dim=3, two_inputs=False, use_causal_mask=True)
    model.set_weights(_case(ref, "mha_implicit_causal", "weight"))
    out, scores = model(ids)
    np.testing.assert_allclose(_np(out), ref["mha_implicit_causal/output_0"], rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(_np(scores), ref["mha_implicit_causal/output_1"], rtol=1e-4,
                               atol=1e-6)


def test_mha_weights_file_layout_matches_keras(tmp_path):
    model = _embedding_mha_model(2, 3)
    path = str(tmp_path / "ours.weights.h5")
    model.save_weights(path)
    names = []
    with h5py.File(path) as ours, h5py.File(
            os.path.join(DATA, "keras3_mha_model.weights.h5")) as theirs:
        theirs.visit(names.append)
        for name in names:
            assert name in ours, name
            if isinstance(theirs[name], h5py.Dataset):
                assert ours[name].shape == theirs[name].shape


def test_mha_masks_on_outputs():
    emb = layers.Embedding(10, 4, mask_zero=True)
    x = emb(np.array([[1, 2, 0], [3, 0, 0]]))
    layer = MultiHeadAttention(num_heads=2, key_dim=2)
    out = layer(x, x)
    np.testing.assert_array_equal(out._keras_mask, [[True, True, False], [True, False, False]])
    out, scores = layer(x, x, return_attention_scores=True)
    assert out._keras_mask is not None and scores._keras_mask is None
    # an explicit value mask replaces the value's own mask
    value_mask = np.array([[True, False, False], [True, True, True]])
    scores = _np(layer(x, x, value_mask=value_mask, return_attention_scores=True)[1])
    assert (scores[0, :, :, 1:] == 0).all() and (scores[1, :, 0, 1:] > 0).all()


def test_mha_float64_reference_random_masks():
    rng = np.random.default_rng(3)
    with _floatx("float64"):
        layer = MultiHeadAttention(num_heads=3, key_dim=4, value_dim=2, output_shape=(2, 3),
                                   bias_initializer="random_normal")
        q, v, k = rng.normal(size=(2, 4, 5)), rng.normal(size=(2, 6, 3)), rng.normal(size=(2, 6, 7))
        mask = rng.random((2, 4, 6)) > 0.4
        out, scores = layer(q, v, key=k, attention_mask=mask, return_attention_scores=True)
        assert out.dtype == np.float64 and out.shape == (2, 4, 2, 3)
        weights = layer.get_weights()
        wo = weights[6].reshape(3, 2, 6)
        ref_out, ref_scores = _np_mha(q, v, k, weights[:6] + [wo, weights[7].reshape(6)],
                                      3, 4, mask)
        np.testing.assert_allclose(_np(out).reshape(2, 4, 6), ref_out, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(_np(scores), ref_scores, rtol=1e-10, atol=1e-12)


def test_mha_gradients():
    rng = np.random.default_rng(4)
    with _floatx("float64"):
        layer = MultiHeadAttention(num_heads=2, key_dim=2, bias_initializer="random_normal")
        q, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 4, 3))
        mask = np.array([[[1, 1, 0, 1]] * 3, [[1, 0, 0, 0]] * 3], bool)
        check_gradients(lambda q_, v_: layer(q_, v_, attention_mask=mask,
                                             use_causal_mask=True), q, v)
        cross = MultiHeadAttention(num_heads=2, key_dim=2, value_dim=3, output_shape=2,
                                   bias_initializer="random_normal")
        check_gradients(lambda q_, v_, k_: cross(q_, v_, key=k_, attention_mask=mask), q, v,
                        rng.normal(size=(2, 4, 5)))


class _ListCalledMHA(MultiHeadAttention):
    """MultiHeadAttention called as `layer([query, value])`, the single-input call the shared
    harness makes (the real layer takes `layer(query, value)`)."""

    def call(self, inputs, training=None):
        return super().call(inputs[0], inputs[1], training=training)

    def build(self, input_shape):
        super().build(*input_shape)

    def compute_output_shape(self, input_shape):
        return super().compute_output_shape(*input_shape)


def test_mha_harness():
    harness.run_layer_test(
        _ListCalledMHA, {"num_heads": 2, "key_dim": 3, "bias_initializer": "ones"},
        input_shape=[(2, 5, 6), (2, 4, 3)], expected_output_shape=(2, 5, 6),
        expected_num_trainable_weights=8,
        # the key bias never gets a gradient (q.(k + b) shifts every score of a query row by
        # the same amount, which the softmax ignores), so the harness's "every weight moves"
        # step cannot hold; test_transformer_block_trains covers training
        run_training_check=False)


def test_mha_symbolic_none_lengths_and_predict():
    q_in, v_in = gkeras.Input((None, 6)), gkeras.Input((None, 4))
    layer = MultiHeadAttention(num_heads=2, key_dim=3, output_shape=5)
    out, scores = layer(q_in, v_in, return_attention_scores=True)
    assert out.shape == (None, None, 5) and scores.shape == (None, 2, None, None)
    model = gkeras.Model([q_in, v_in], [out, scores])
    rng = np.random.default_rng(6)
    q, v = rng.normal(size=(3, 7, 6)).astype("float32"), rng.normal(size=(3, 2, 4)).astype(
        "float32")
    got = model.predict([q, v], verbose=0)
    assert got[0].shape == (3, 7, 5) and got[1].shape == (3, 2, 7, 2)
    np.testing.assert_allclose(got[0], _np(layer(q, v)), rtol=1e-5, atol=1e-6)
    assert layer.compute_output_shape((None, 7, 6), (None, 2, 4)) == (None, 7, 5)


def test_mha_dropout_only_in_training():
    layer = MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.5, seed=1)
    x = np.random.default_rng(7).normal(size=(2, 6, 8)).astype("float32")
    a, b = _np(layer(x, x)), _np(layer(x, x))
    np.testing.assert_array_equal(a, b)
    _, scores = layer(x, x, training=True, return_attention_scores=True)
    np.testing.assert_allclose(_np(scores).sum(-1), 1.0, rtol=1e-5)  # returned before dropout
    assert not np.allclose(_np(layer(x, x, training=True)), a)


def test_mha_config_round_trip():
    layer = MultiHeadAttention(num_heads=2, key_dim=3, value_dim=5, dropout=0.1,
                               output_shape=(4,), kernel_regularizer="l2", name="mha_cfg")
    q, v = np.ones((2, 3, 6), "float32"), np.ones((2, 5, 2), "float32")
    layer(q, v)
    config = json.loads(json.dumps(layer.get_config()))
    assert config["attention_axes"] == [1] and config["value_dim"] == 5
    clone = MultiHeadAttention.from_config(config)
    clone.build_from_config(json.loads(json.dumps(layer.get_build_config())))
    assert [w.shape for w in clone.weights] == [w.shape for w in layer.weights]
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(_np(clone(q, v)), _np(layer(q, v)), rtol=1e-6)
    assert len(layer.losses) == 4  # one L2 penalty per projection kernel


@pytest.mark.parametrize("kwargs,match", [
    ({"num_heads": 0, "key_dim": 2}, "num_heads"),
    ({"num_heads": 2, "key_dim": 2.5}, "key_dim"),
    ({"num_heads": 2, "key_dim": 2, "value_dim": -1}, "value_dim"),
    ({"num_heads": 2, "key_dim": 2, "dropout": 1.5}, "dropout"),
    ({"num_heads": 2, "key_dim": 2, "attention_axes": "x"}, "attention_axes"),
    ({"num_heads": 2, "key_dim": 2, "use_gate": True}, "use_gate"),
    ({"num_heads": 2, "key_dim": 2, "output_shape": "x"}, "output_shape"),
])
def test_mha_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        MultiHeadAttention(name="bad_mha", **kwargs)
    assert "bad_mha" in str(info.value)


def test_mha_bad_shapes_and_axes():
    x = np.zeros((2, 3, 4), "float32")
    with pytest.raises(ValueError, match="bad_axes.*attention_axes"):
        MultiHeadAttention(2, 2, attention_axes=(2,), name="bad_axes")(
            np.zeros((2, 3, 4, 5), "float32"), np.zeros((2, 3, 4, 5), "float32"))
    # the default axes written out are fine
    MultiHeadAttention(2, 2, attention_axes=1)(x, x)
    with pytest.raises(ValueError, match="bad_kv.*`value` and `key`"):
        MultiHeadAttention(2, 2, name="bad_kv")(x, x, key=np.zeros((2, 5, 4), "float32"))
    with pytest.raises(ValueError, match="bad_rank.*rank"):
        MultiHeadAttention(2, 2, name="bad_rank")(np.zeros((2, 4), "float32"),
                                                  np.zeros((2, 4), "float32"))


def test_transformer_block_trains():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(64, 6, 8)).astype("float32")
    y = (x.mean(axis=(1, 2)) > 0).astype("float32")[:, None]
    inputs = gkeras.Input((None, 8))
    attended = MultiHeadAttention(num_heads=2, key_dim=4)(inputs, inputs)
    h = layers.LayerNormalization()(layers.Add()([inputs, attended]))
    h = layers.LayerNormalization()(layers.Add()([h, layers.Dense(8)(layers.Dense(
        16, activation="relu")(h))]))
    outputs = layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling1D()(h))
    model = gkeras.Model(inputs, outputs)
    model.compile(optimizer=gkeras.optimizers.Adam(0.01), loss="binary_crossentropy")
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 2 and losses[1] < losses[0]


# ========================================================================= Attention
ATT_CASES = {"att_dot": {}, "att_scale": {"use_scale": True},
             "att_concat": {"score_mode": "concat", "use_scale": True}}


@pytest.mark.parametrize("case", sorted(ATT_CASES))
def test_attention_matches_keras(ref, case):
    q, v, k = _case(ref, case, "input")
    q_mask, v_mask = ref[f"{case}/mask_0"], ref[f"{case}/mask_1"]
    weights = _case(ref, case, "weight")
    layer = Attention(**ATT_CASES[case])
    layer.build([q.shape, v.shape, k.shape])
    layer.set_weights(weights)
    expected = _case(ref, case, "output")
    runs = [
        (layer([q, v, k], return_attention_scores=True), {"k": k}),
        (layer([q, v, k], mask=[q_mask, v_mask], return_attention_scores=True),
         {"k": k, "q_mask": q_mask, "v_mask": v_mask}),
        (layer([q, q], use_causal_mask=True, return_attention_scores=True),
         {"v": q, "k": q, "causal": True}),
        (layer([q, v], mask=[None, v_mask], use_causal_mask=True, return_attention_scores=True),
         {"k": v, "v_mask": v_mask, "causal": True}),
    ]
    scale = weights[0] if ATT_CASES[case].get("use_scale") else 1.0
    concat = weights[1] if ATT_CASES[case].get("score_mode") == "concat" else None
    for i, ((out, scores), args) in enumerate(runs):
        np.testing.assert_allclose(_np(out), expected[2 * i], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(_np(scores), expected[2 * i + 1], rtol=1e-4, atol=1e-6)
        ref_out, ref_scores = _np_attention(q, args.get("v", v), args["k"], scale, concat,
                                            args.get("q_mask"), args.get("v_mask"),
                                            args.get("causal", False))
        np.testing.assert_allclose(_np(out), ref_out, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(_np(scores), ref_scores, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kwargs,weights", [({}, 0), ({"use_scale": True}, 1),
                                            ({"score_mode": "concat", "use_scale": True}, 2)])
def test_attention_harness(kwargs, weights):
    harness.run_layer_test(Attention, kwargs, input_shape=[(2, 3, 4), (2, 5, 4)],
                           expected_output_shape=(2, 3, 4),
                           expected_num_trainable_weights=weights,
                           run_training_check=weights > 0)


def test_attention_gradients():
    rng = np.random.default_rng(9)
    q, v, k = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 4, 4)), rng.normal(size=(2, 4, 4))
    v_mask = np.array([[1, 1, 0, 1], [1, 1, 1, 0]], bool)
    with _floatx("float64"):
        layer = Attention(score_mode="concat", use_scale=True)
        check_gradients(lambda a, b, c: layer([a, b, c], mask=[None, v_mask]), q, v, k)


def test_attention_masks_and_symbolic():
    emb = layers.Embedding(10, 4, mask_zero=True)
    ids = np.array([[1, 2, 0], [3, 0, 0]])
    x = emb(ids)
    layer = Attention()
    out = layer([x, x])
    np.testing.assert_array_equal(out._keras_mask, ids != 0)
    np.testing.assert_array_equal(_np(out)[ids == 0], 0.0)  # masked queries output zeros
    out, scores = layer([x, x], return_attention_scores=True)
    assert scores._keras_mask is None
    np.testing.assert_array_equal(_np(scores)[1, :, 1:], 0.0)  # masked values get nothing
    q_in, v_in = gkeras.Input((None, 4)), gkeras.Input((None, 4))
    out, scores = layer([q_in, v_in], return_attention_scores=True)
    assert out.shape == (None, None, 4) and scores.shape == (None, None, None)
    assert layer([q_in, v_in]).shape == (None, None, 4)


def test_attention_config_and_errors():
    layer = Attention(use_scale=True, score_mode="concat", dropout=0.2, seed=3)
    config = json.loads(json.dumps(layer.get_config()))
    assert Attention.from_config(config).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="bad_att.*score_mode"):
        Attention(score_mode="add", name="bad_att")
    with pytest.raises(ValueError, match="bad_att2.*dropout"):
        Attention(dropout=2, name="bad_att2")
    x = np.zeros((2, 3, 4), "float32")
    with pytest.raises(ValueError, match="bad_att3.*list of inputs"):
        Attention(name="bad_att3")(x)
    with pytest.raises(ValueError, match="bad_att4.*length 2 or 3"):
        Attention(name="bad_att4")([x, x, x, x])
    with pytest.raises(ValueError, match="bad_att5.*mask"):
        Attention(name="bad_att5")([x, x], mask=[None])


def test_attention_dropout_only_in_training():
    layer = Attention(dropout=0.5, seed=2)
    x = np.random.default_rng(10).normal(size=(2, 5, 4)).astype("float32")
    np.testing.assert_array_equal(_np(layer([x, x])), _np(layer([x, x])))
    assert not np.allclose(_np(layer([x, x], training=True)), _np(layer([x, x])))
