"""Attention layers: `MultiHeadAttention` (Vaswani et al.) and `Attention` (Luong)."""

import math
import string

from gkeras import constraints, initializers, ops, regularizers
from gkeras import random as grandom
from gkeras.autodiff import Tensor
from gkeras.layers.activation_layers import Softmax
from gkeras.layers.einsum_dense import EinsumDense
from gkeras.layers.layer import Layer
from gkeras.layers.regularization import Dropout

# Masked logits get this value before the softmax (Keras's choice; -3e4 keeps float16 finite).
_LARGE_NEGATIVE = {"float16": -3e4}


def _large_negative(dtype):
    return _LARGE_NEGATIVE.get(str(dtype), -1e9)


def _projection_equation(free_dims, bound_dims, output_dims):
    """`(equation, bias_axes, output_rank)` of a projection that keeps `free_dims` axes,
    contracts `bound_dims` axes with the kernel and creates `output_dims` axes."""
    letters = iter(string.ascii_lowercase)
    free = "".join(next(letters) for _ in range(free_dims))
    bound = "".join(next(letters) for _ in range(bound_dims))
    out = "".join(next(letters) for _ in range(output_dims))
    return f"{free}{bound},{bound}{out}->{free}{out}", out, free_dims + output_dims


def _attention_equations(rank, attention_axes):
    """Einsum equations of the scores (`key, query -> scores`) and of the combination
    (`scores, value -> output`) for projected tensors of `rank` axes
    `(batch, <other axes>, <attention axes>, heads, channels)`.

    The scores have the axes `(batch, <other axes>, heads, <query attention axes>,
    <key attention axes>)`."""
    target = string.ascii_lowercase[:rank]
    batch_axes = [i for i in range(rank) if i not in attention_axes and i != rank - 1]
    extra = iter(string.ascii_lowercase[rank:])
    # the key and value share the query's batch, head and channel labels, not its positions
    source = "".join(target[i] if i in batch_axes or i == rank - 1 else next(extra)
                     for i in range(rank))
    product = "".join([target[i] for i in batch_axes] + [target[i] for i in attention_axes]
                      + [source[i] for i in attention_axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


def _as_bool(mask):
    mask = ops.convert_to_tensor(mask)
    return mask if mask.dtype == "bool" else ops.cast(mask, "bool")


def _mask_of(x):
    return x._keras_mask if isinstance(x, Tensor) else None


class MultiHeadAttention(Layer):
    """Multi-head attention ("Attention is all you need", Vaswani et al., 2017).

    The query, key and value are projected to `num_heads` heads (`EinsumDense` layers named
    `query`, `key`, `value`); each head computes `softmax(q k^T / sqrt(key_dim)) v`; the
    heads are projected back by `attention_output` to the query's last dimension (or to
    `output_shape`). With `query is value` this is self-attention.

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (`key_dim` when `None`).
        dropout: dropout rate on the attention probabilities.
        use_bias: whether the projections have biases.
        output_shape: the output's shape besides the batch and sequence axes (an int or a
            tuple); the query's last dimension when `None`.
        attention_axes: the axes attention runs over; only the default (every axis but the
            batch, heads and features) is supported.
        sliding_window: optional positive int: each query position only attends to keys
            fewer than `sliding_window` positions away.
        kernel_initializer, bias_initializer: initialisers of the projections.
        kernel_regularizer, bias_regularizer, activity_regularizer: optional penalties.
        kernel_constraint, bias_constraint: optional constraints.
        seed: optional int seeding the dropout.

    Call arguments:
        query: `(B, T, dim)`.
        value: `(B, S, dim)`.
        key: optional `(B, S, dim)`; `value` when omitted.
        query_mask, value_mask, key_mask: optional `(B, T)` / `(B, S)` boolean masks; by
            default the masks attached to `query`, `value` and `key` (from `Embedding(
            mask_zero=True)` or `Masking`) are used.
        attention_mask: optional boolean `(B, T, S)`: `True` where a query position may
            attend to a key position.
        return_attention_scores: also return the attention probabilities `(B, heads, T, S)`.
        training: whether dropout is active.
        use_causal_mask: forbid attending to later positions (decoder self-attention).

    Returns:
        The output `(B, T, E)`, or `(output, scores)` with `return_attention_scores=True`.
    """

    supports_masking = True

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, sliding_window=None,
                 flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        for arg, value, optional in (("num_heads", num_heads, False), ("key_dim", key_dim, False),
                                     ("value_dim", value_dim, True)):
            if optional and value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(
                    f"Layer '{self.name}': received an invalid value for argument `{arg}`, "
                    f"expected a positive integer{' or None' if optional else ''}. "
                    f"Received: {arg}={value!r}"
                )
        if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(
                f"Layer '{self.name}': `dropout` must be a float in [0, 1). Received: "
                f"dropout={dropout!r}"
            )
        if use_gate:
            raise ValueError(
                f"Layer '{self.name}': `use_gate=True` (gated attention) is not supported by "
                "gkeras."
            )
        if sliding_window is not None and (not isinstance(sliding_window, int)
                                           or sliding_window <= 0):
            raise ValueError(
                f"Layer '{self.name}': `sliding_window` must be `None` or a positive integer. "
                f"Received: sliding_window={sliding_window!r}"
            )
        if output_shape:
            if isinstance(output_shape, int):
                output_shape = (output_shape,)
            if not isinstance(output_shape, (list, tuple)) or not all(
                    isinstance(d, int) and d > 0 for d in output_shape):
                raise ValueError(
                    f"Layer '{self.name}': invalid `output_shape` {output_shape!r}; expected a "
                    "positive int or a tuple/list of them."
                )
            output_shape = tuple(output_shape)
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes is not None:
            if not isinstance(attention_axes, (list, tuple)):
                raise ValueError(
                    f"Layer '{self.name}': `attention_axes` must be an int, list, or tuple. "
                    f"Received: attention_axes={attention_axes!r}"
                )
            attention_axes = tuple(attention_axes)
        self._num_heads = num_heads
        self._key_dim = key_dim
        self._value_dim = value_dim if value_dim else key_dim
        self._dropout = dropout
        self._use_bias = use_bias
        self._output_shape = output_shape or None
        self._attention_axes = attention_axes
        self._sliding_window = sliding_window
        self._flash_attention = bool(flash_attention)
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(key_dim))
        self._build_shapes = None
        self._returns_scores = False

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    attention_axes = property(lambda self: self._attention_axes)

    # ------------------------------------------------------------------------ build
    def _sublayer_kwargs(self):
        # each projection gets its own initializer object (a seeded one would otherwise give
        # every projection the same values)
        return dict(
            kernel_initializer=initializers.get(initializers.serialize(self._kernel_initializer)),
            bias_initializer=initializers.get(initializers.serialize(self._bias_initializer)),
            kernel_regularizer=self._kernel_regularizer, bias_regularizer=self._bias_regularizer,
            activity_regularizer=self.activity_regularizer,
            kernel_constraint=self._kernel_constraint, bias_constraint=self._bias_constraint,
            dtype=self.dtype,
        )

    def _projection(self, rank, bound_dims, last_dims, name):
        equation, bias_axes, output_rank = _projection_equation(rank - 1, bound_dims,
                                                                len(last_dims))
        output_shape = [None] * (output_rank - 1 - len(last_dims)) + list(last_dims)
        return EinsumDense(equation, output_shape=output_shape,
                           bias_axes=bias_axes if self._use_bias else None, name=name,
                           **self._sublayer_kwargs())

    def build(self, query_shape, value_shape=None, key_shape=None):
        """Creates the four projections.

        Args:
            query_shape, value_shape, key_shape: the inputs' shapes (`key_shape` defaults to
                `value_shape`). The base class's automatic build knows only the query's
                shape; the projections are then created at the first call.
        """
        if value_shape is None:
            return
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(
                f"Layer '{self.name}': all dimensions of `value` and `key`, except the last "
                f"one, must be equal. Received: value_shape={value_shape} and "
                f"key_shape={key_shape}"
            )
        if len(query_shape) < 3 or len(value_shape) != len(query_shape):
            raise ValueError(
                f"Layer '{self.name}': `query` and `value` must have the same rank, at least "
                f"3 (batch, positions, features). Received: query_shape={query_shape}, "
                f"value_shape={value_shape}"
            )
        for what, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if shape[-1] is None:
                raise ValueError(
                    f"Layer '{self.name}': the last dimension of `{what}` must be known. "
                    f"Received: {what}_shape={shape}"
                )
        rank = len(query_shape) + 1  # the projected tensors have a heads axis
        default_axes = tuple(range(1, rank - 2))
        if self._attention_axes is not None:
            axes = tuple(a if a >= 0 else (rank - 1) + a for a in self._attention_axes)
            if axes != default_axes:
                raise ValueError(
                    f"Layer '{self.name}': only the default `attention_axes` "
                    f"{default_axes} (every axis but batch, heads and features) is supported "
                    f"for inputs of rank {rank - 1}. Received: attention_axes="
                    f"{self._attention_axes}"
                )
        self._attention_axes = default_axes
        self.query_dense = self._projection(len(query_shape), 1,
                                            [self._num_heads, self._key_dim], "query")
        self.query_dense.build(query_shape)
        self.key_dense = self._projection(len(key_shape), 1,
                                          [self._num_heads, self._key_dim], "key")
        self.key_dense.build(key_shape)
        self.value_dense = self._projection(len(value_shape), 1,
                                            [self._num_heads, self._value_dim], "value")
        self.value_dense.build(value_shape)
        self._dot_product_equation, self._combine_equation, scores_rank = (
            _attention_equations(rank, default_axes))
        self._norm_axes = tuple(range(scores_rank - len(default_axes), scores_rank))
        self._softmax = Softmax(axis=self._norm_axes, dtype=self.dtype)
        self._dropout_layer = Dropout(rate=self._dropout, seed=self.seed, dtype=self.dtype)
        output_shape = self._output_shape or (query_shape[-1],)
        self.output_dense = self._projection(len(query_shape), 2, list(output_shape),
                                             "attention_output")
        heads_shape = tuple(query_shape[:-1]) + (self._num_heads, self._value_dim)
        self.output_dense.build(heads_shape)
        for sublayer in (self.query_dense, self.key_dense, self.value_dense, self.output_dense):
            for w in sublayer.weights:  # Keras 3's paths: `mha/query/kernel`
                w.path = f"{self.name}/{sublayer.name}/{w.name}"
        self._build_shapes = {"query_shape": query_shape, "value_shape": value_shape}
        if key_shape is not value_shape:
            self._build_shapes["key_shape"] = key_shape
        self.built = True

    def get_build_config(self):
        if self._build_shapes is None:
            return None
        return {"shapes_dict": {k: list(v) for k, v in self._build_shapes.items()}}

    def build_from_config(self, config):
        if config and "shapes_dict" in config and self._build_shapes is None:
            self.build(**{k: tuple(v) for k, v in config["shapes_dict"].items()})

    # ------------------------------------------------------------------------- call
    def _cast_input(self, x):
        x = ops.convert_to_tensor(x)
        if x.dtype != self.dtype and x.dtype.kind in "fiub":
            x = ops.cast(x, self.dtype)
        return x

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        if self._flash_attention and return_attention_scores:
            raise ValueError(
                f"Layer '{self.name}': returning attention scores is not supported when flash "
                "attention is enabled; disable it to access the scores."
            )
        # Keras takes each input's own mask when no explicit one is given (the key's only
        # when a key is passed)
        query_mask = _mask_of(query) if query_mask is None else query_mask
        value_mask = _mask_of(value) if value_mask is None else value_mask
        if key is not None and key_mask is None:
            key_mask = _mask_of(key)
        query, value = self._cast_input(query), self._cast_input(value)
        key = value if key is None else self._cast_input(key)
        if self._build_shapes is None:
            batch_free = [(None,) + tuple(t.shape[1:]) for t in (query, value, key)]
            self.build(batch_free[0], batch_free[1], None if key is value else batch_free[2])
        attention_mask = self._compute_attention_mask(
            query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask)
        query = self.query_dense(query)  # (B, T, N, key_dim)
        key = self.key_dense(key)  # (B, S, N, key_dim)
        value = self.value_dense(value)  # (B, S, N, value_dim)
        output, scores = self._compute_attention(query, key, value, attention_mask, training)
        output = self.output_dense(output)
        self._returns_scores = bool(return_attention_scores)
        if return_attention_scores:
            return output, scores
        return output

    def _compute_attention_mask(self, query, value, query_mask, value_mask, key_mask,
                                attention_mask, use_causal_mask):
        """The boolean `(B, T, S)` mask (or one broadcastable to it) of allowed pairs: the
        explicit `attention_mask` AND the input masks AND the causal / sliding-window band."""
        masks = []
        if query_mask is not None:
            masks.append(ops.expand_dims(_as_bool(query_mask), -1))  # (B, T, 1)
        for mask in (value_mask, key_mask):
            if mask is not None:
                masks.append(ops.expand_dims(_as_bool(mask), -2))  # (B, 1, S)
        if use_causal_mask or self._sliding_window is not None:
            rows = ops.expand_dims(ops.arange(query.shape[1], dtype="int32"), -1)
            cols = ops.expand_dims(ops.arange(value.shape[1], dtype="int32"), 0)
            if use_causal_mask:
                masks.append(ops.expand_dims(ops.greater_equal(rows, cols), 0))  # (1, T, S)
            if self._sliding_window is not None:
                band = ops.less(ops.abs(ops.subtract(rows, cols)), self._sliding_window)
                masks.append(ops.expand_dims(band, 0))
        if attention_mask is not None:
            masks.insert(0, _as_bool(attention_mask))
        if not masks:
            return None
        combined = masks[0]
        for mask in masks[1:]:
            combined = ops.logical_and(combined, mask)
        return combined

    def _compute_attention(self, query, key, value, attention_mask=None, training=None):
        """Scaled dot-product attention of the projected heads.

        Returns:
            `(output (B, T, N, value_dim), probabilities (B, N, T, S))`.
        """
        query = ops.multiply(query, self._inverse_sqrt_key_dim)
        scores = ops.einsum(self._dot_product_equation, key, query)
        if attention_mask is not None:
            # the mask lacks the heads axis (and maybe the batch): add them before the
            # query/key positions
            axis = -len(self._attention_axes) * 2 - 1
            while attention_mask.ndim < scores.ndim:
                attention_mask = ops.expand_dims(attention_mask, axis)
            scores = ops.where(attention_mask, scores, _large_negative(scores.dtype))
        probabilities = self._softmax(scores)
        if attention_mask is not None:
            # a query with no allowed key gets zeros, not a uniform distribution
            probabilities = ops.where(attention_mask, probabilities, 0.0)
        dropped = self._dropout_layer(probabilities, training=bool(training))
        return ops.einsum(self._combine_equation, dropped, value), probabilities

    def compute_mask(self, inputs, previous_mask=None):
        # the output keeps the query's mask; the attention scores get none
        if self._returns_scores:
            return [previous_mask, None]
        return previous_mask

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        query_shape = tuple(query_shape)
        if value_shape is not None:
            value_shape = tuple(value_shape)
            key_shape = value_shape if key_shape is None else tuple(key_shape)
            if value_shape[1:-1] != key_shape[1:-1]:
                raise ValueError(
                    f"Layer '{self.name}': all dimensions of `value` and `key`, except the "
                    f"last one, must be equal. Received: value_shape={value_shape} and "
                    f"key_shape={key_shape}"
                )
        if self._output_shape:
            return query_shape[:-1] + tuple(self._output_shape)
        return query_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            num_heads=self._num_heads, key_dim=self._key_dim, value_dim=self._value_dim,
            dropout=self._dropout, use_bias=self._use_bias, use_gate=False,
            output_shape=self._output_shape, attention_axes=self._attention_axes,
            sliding_window=self._sliding_window,
            kernel_initializer=initializers.serialize(self._kernel_initializer),
            bias_initializer=initializers.serialize(self._bias_initializer),
            kernel_regularizer=regularizers.serialize(self._kernel_regularizer),
            bias_regularizer=regularizers.serialize(self._bias_regularizer),
            activity_regularizer=regularizers.serialize(self.activity_regularizer),
            kernel_constraint=constraints.serialize(self._kernel_constraint),
            bias_constraint=constraints.serialize(self._bias_constraint),
            seed=self.seed,
        )
        return config


class Attention(Layer):
    """Dot-product attention (Luong-style).

    `scores = query @ key^T` (times a learned `scale` when `use_scale`), or with
    `score_mode="concat"` `concat_score_weight * sum(tanh(scale * (query + key)), -1)`;
    `output = softmax(scores) @ value`.

    Args:
        use_scale: learn a scalar `scale` multiplying the scores.
        score_mode: `"dot"` or `"concat"`.
        dropout: dropout rate on the attention probabilities.
        seed: optional int seeding the dropout.

    Call arguments:
        inputs: a list `[query (B, Tq, dim), value (B, Tv, dim)]` or `[query, value, key]`
            (`key` defaults to `value`).
        mask: optional list `[query_mask (B, Tq), value_mask (B, Tv)]`; masked values get no
            attention and masked query positions output zeros. Taken from the inputs' own
            masks by default.
        training: whether dropout is active.
        return_attention_scores: also return the attention probabilities `(B, Tq, Tv)`.
        use_causal_mask: forbid attending to later positions.

    Returns:
        The output `(B, Tq, dim)`, or `(output, scores)` with `return_attention_scores=True`.
    """

    supports_masking = True

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(
                f"Layer '{self.name}': invalid value for argument score_mode. Expected one of "
                f"{{'dot', 'concat'}}. Received: score_mode={score_mode!r}"
            )
        if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(
                f"Layer '{self.name}': `dropout` must be a float in [0, 1). Received: "
                f"dropout={dropout!r}"
            )
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = dropout
        self.seed = seed
        self.seed_generator = grandom.SeedGenerator(seed)
        self._returns_scores = False

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(shape=(), initializer="ones",
                                                       name="concat_score_weight")
        self.built = True

    def _validate_inputs(self, inputs, mask=None):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) must be called on a list of "
                f"inputs, namely [query, value] or [query, value, key]. Received: "
                f"inputs={inputs!r}."
            )
        if not 2 <= len(inputs) <= 3:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) accepts an inputs list of "
                f"length 2 or 3, namely [query, value] or [query, value, key]. Received "
                f"length: {len(inputs)}."
            )
        if mask is not None:
            if not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}): `mask` must be a list "
                    f"[query_mask, value_mask] (length 2 or 3). Received: mask={mask!r}."
                )

    def _calculate_scores(self, query, key):
        if self.score_mode == "dot":
            axes = list(range(key.ndim))
            axes[-2], axes[-1] = axes[-1], axes[-2]
            scores = ops.matmul(query, ops.transpose(key, axes))
            return scores if self.scale is None else ops.multiply(scores, self.scale)
        pairs = ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3))  # (B, Tq, Tv, d)
        if self.scale is not None:
            pairs = ops.multiply(self.scale, pairs)
        return ops.multiply(self.concat_score_weight, ops.sum(ops.tanh(pairs), axis=-1))

    def call(self, inputs, mask=None, training=False, return_attention_scores=False,
             use_causal_mask=False):
        self._validate_inputs(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask = mask[0] if mask else None
        value_mask = mask[1] if mask else None
        scores = self._calculate_scores(query, key)  # (B, Tq, Tv)
        scores_mask = None
        if value_mask is not None:
            scores_mask = ops.expand_dims(_as_bool(value_mask), -2)  # (B, 1, Tv)
        if use_causal_mask:
            rows = ops.expand_dims(ops.arange(scores.shape[-2], dtype="int32"), -1)
            cols = ops.expand_dims(ops.arange(scores.shape[-1], dtype="int32"), 0)
            causal = ops.expand_dims(ops.greater_equal(rows, cols), 0)  # (1, Tq, Tv)
            scores_mask = causal if scores_mask is None else ops.logical_and(scores_mask,
                                                                             causal)
        if scores_mask is not None:
            # Keras subtracts a large number (not -inf): an all-masked row stays finite
            big = 65504.0 if scores.dtype == "float16" else 1.0e9
            scores = ops.where(scores_mask, scores, ops.subtract(scores, big))
        weights = ops.softmax(scores, axis=-1)
        dropped = weights
        if training and self.dropout > 0:
            dropped = ops.dropout(weights, self.dropout, seed=self.seed_generator)
        output = ops.matmul(dropped, value)
        if query_mask is not None:
            output = ops.where(ops.expand_dims(_as_bool(query_mask), -1), output, 0.0)
        self._returns_scores = bool(return_attention_scores)
        if return_attention_scores:
            return output, weights
        return output

    def compute_mask(self, inputs, mask=None):
        self._validate_inputs(inputs, mask)
        query_mask = None if mask is None or mask[0] is None else mask[0]
        return [query_mask, None] if self._returns_scores else query_mask

    def compute_output_shape(self, input_shape):
        self._validate_inputs(input_shape)
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)

    def get_config(self):
        config = super().get_config()
        config.update(use_scale=self.use_scale, score_mode=self.score_mode,
                      dropout=self.dropout, seed=self.seed)
        return config
