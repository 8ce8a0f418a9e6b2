"""Records real-Keras outputs of EinsumDense, MultiHeadAttention and Attention for fixed
random weights, for tests/layers/test_attention.py.

Run with real Keras 3 (JAX backend), from this folder:

    KERAS_BACKEND=jax python record_attention.py

It writes `keras3_mha_model.weights.h5` (the `mha_implicit` model) and
`attention_references.npz`: for each case `<case>/input_<i>`, `<case>/weight_<i>`
(in `layer.get_weights()` order) and `<case>/output_<i>`, plus `<case>/mask_<i>` and
`<case>/ids_<i>` where a case uses them.
"""

import os

import keras
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240611)
out = {}


def randn(*shape):
    return rng.normal(size=shape).astype("float32")


def store(case, inputs=(), weights=(), outputs=(), **extra):
    for i, x in enumerate(inputs):
        out[f"{case}/input_{i}"] = np.asarray(x)
    for i, w in enumerate(weights):
        out[f"{case}/weight_{i}"] = np.asarray(w)
    for i, y in enumerate(outputs):
        out[f"{case}/output_{i}"] = np.asarray(y)
    for key, value in extra.items():
        out[f"{case}/{key}"] = np.asarray(value)


def randomize(layer):
    weights = [randn(*w.shape) * 0.5 for w in layer.get_weights()]
    layer.set_weights(weights)
    return weights


# ---------------------------------------------------------------- EinsumDense
EINSUM_CASES = {
    "einsum_heads": ("abc,cde->abde", (None, 3, 4), "de", None, (2, 5, 6)),
    "einsum_dense": ("ab,bc->ac", 4, "c", "relu", (3, 5)),
    "einsum_left": ("...b,bc->...c", 4, "c", None, (2, 3, 5)),
    "einsum_right": ("ab...,bc->ac...", 4, "c", "tanh", (2, 5, 3)),
    "einsum_nobias": ("abc,cd->abd", (None, 4), None, None, (2, 3, 5)),
    "einsum_partial_bias": ("abc,cde->abde", (None, 3, 4), "d", None, (2, 5, 6)),
}
for case, (equation, output_shape, bias_axes, activation, shape) in EINSUM_CASES.items():
    layer = keras.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes,
                                     activation=activation)
    x = randn(*shape)
    layer.build(shape)
    weights = randomize(layer)
    store(case, [x], weights, [layer(x)],
          output_shape_spec=np.array(layer.compute_output_shape((None,) + shape[1:]),
                                     dtype=float))

# --------------------------------------------------------- MultiHeadAttention
# cross attention with a separate key, scores returned
layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4)
q, v, k = randn(2, 5, 8), randn(2, 6, 7), randn(2, 6, 5)
o, s = layer(q, v, key=k, return_attention_scores=True)
store("mha_cross", [q, v, k], randomize(layer), layer(q, v, key=k, return_attention_scores=True))

# self attention with an explicit attention mask and a causal mask, output_shape, no bias
layer = keras.layers.MultiHeadAttention(num_heads=3, key_dim=2, use_bias=False,
                                        output_shape=(5,))
x = randn(2, 4, 6)
mask = rng.random((2, 4, 4)) > 0.3
mask[1, 2] = False  # a query with no key allowed: Keras outputs zero probabilities
layer(x, x)
weights = randomize(layer)
o1, s1 = layer(x, x, attention_mask=mask, return_attention_scores=True)
o2, s2 = layer(x, x, use_causal_mask=True, return_attention_scores=True)
o3, s3 = layer(x, x, attention_mask=mask, use_causal_mask=True, return_attention_scores=True)
store("mha_masks", [x], weights, [o1, s1, o2, s2, o3, s3], mask_0=mask)

# implicit masks: Embedding(mask_zero=True) outputs feed query and value
ids_q = np.array([[3, 1, 4, 0, 0], [2, 7, 1, 8, 2]], dtype="int32")
ids_v = np.array([[5, 9, 2, 6, 0, 0], [1, 0, 0, 0, 0, 0]], dtype="int32")
in_q = keras.Input((None,), dtype="int32")
in_v = keras.Input((None,), dtype="int32")
emb_q = keras.layers.Embedding(10, 6, mask_zero=True)
emb_v = keras.layers.Embedding(10, 6, mask_zero=True)
mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
att_out, att_scores = mha(emb_q(in_q), emb_v(in_v), return_attention_scores=True)
model = keras.Model([in_q, in_v], [att_out, att_scores])
weights = [randn(*w.shape) * 0.5 for w in model.get_weights()]
model.set_weights(weights)
store("mha_implicit", [], weights, model([ids_q, ids_v]), ids_0=ids_q, ids_1=ids_v)
# the same model's weights file: its layout (`layers/multi_head_attention/query_dense/vars`)
model.save_weights(os.path.join(HERE, "keras3_mha_model.weights.h5"))

# self attention with the implicit mask of one input and the causal mask
in_x = keras.Input((None,), dtype="int32")
emb = keras.layers.Embedding(10, 6, mask_zero=True)
mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, value_dim=3)
h = emb(in_x)
model = keras.Model(in_x, mha(h, h, use_causal_mask=True, return_attention_scores=True))
weights = [randn(*w.shape) * 0.5 for w in model.get_weights()]
model.set_weights(weights)
store("mha_implicit_causal", [], weights, model(ids_q), ids_0=ids_q)

# ------------------------------------------------------------------ Attention
q, v, k = randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 4)
q_mask = np.array([[True, True, False], [True, True, True]])
v_mask = np.array([[True, True, True, False, False], [True, False, True, True, True]])
for case, kwargs in {"att_dot": {}, "att_scale": {"use_scale": True},
                     "att_concat": {"score_mode": "concat", "use_scale": True}}.items():
    layer = keras.layers.Attention(**kwargs)
    layer([q, v, k])
    weights = [np.float32(rng.uniform(0.5, 1.5)) for _ in layer.get_weights()]
    layer.set_weights(weights)
    outputs = [*layer([q, v, k], return_attention_scores=True),
               *layer([q, v, k], mask=[q_mask, v_mask], return_attention_scores=True),
               *layer([q, q], use_causal_mask=True, return_attention_scores=True),
               *layer([q, v], mask=[None, v_mask], use_causal_mask=True,
                      return_attention_scores=True)]
    store(case, [q, v, k], weights, outputs, mask_0=q_mask, mask_1=v_mask)

np.savez(os.path.join(HERE, "attention_references.npz"), **out)
print(f"keras {keras.__version__} ({keras.backend.backend()}): {len(out)} arrays written")
