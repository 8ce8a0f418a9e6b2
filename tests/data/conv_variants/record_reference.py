"""Records real-Keras outputs for tests/layers/test_convolutional_variants.py.

Run with Keras 3 on any backend (it was recorded with Keras 3.15.1 on JAX):

    KERAS_BACKEND=jax python tests/data/conv_variants/record_reference.py

For each case it draws the input and every weight from a seeded NumPy generator, sets them on
the Keras layer and stores input, weights (in the layer's weight order), output and the
constructor arguments in `reference.npz` next to this script.
"""

import json
import os

import keras
import numpy as np

CASES = {
    "transpose_same_s2_op1": ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2,
                                                  "padding": "same", "output_padding": 1}),
    "transpose_valid_s23": ("Conv2DTranspose", {"filters": 3, "kernel_size": (3, 2),
                                                "strides": (2, 3), "padding": "valid"}),
    "transpose_same_k4_s2": ("Conv2DTranspose", {"filters": 2, "kernel_size": 4, "strides": 2,
                                                 "padding": "same"}),
    "transpose_same_k4_s2_op0": ("Conv2DTranspose", {"filters": 2, "kernel_size": 4,
                                                     "strides": 2, "padding": "same",
                                                     "output_padding": 0}),
    "transpose_valid_s2_op1": ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2,
                                                   "output_padding": 1, "use_bias": False}),
    "transpose_valid_k2_s3": ("Conv2DTranspose", {"filters": 2, "kernel_size": 2, "strides": 3}),
    "transpose_same_dilated": ("Conv2DTranspose", {"filters": 2, "kernel_size": 3,
                                                   "dilation_rate": 2, "padding": "same"}),
    "depthwise_dm2_s2_same": ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2,
                                                  "strides": 2, "padding": "same"}),
    "depthwise_dilated": ("DepthwiseConv2D", {"kernel_size": (3, 2), "dilation_rate": 2}),
    "separable_dm2_s2_same": ("SeparableConv2D", {"filters": 5, "kernel_size": 3,
                                                  "depth_multiplier": 2, "strides": 2,
                                                  "padding": "same"}),
}


def main():
    rng = np.random.default_rng(2024)
    arrays = {"keras_version": np.array(keras.__version__)}
    for name, (cls_name, kwargs) in CASES.items():
        x = rng.standard_normal((2, 5, 6, 3)).astype("float32")
        layer = getattr(keras.layers, cls_name)(**kwargs)
        layer.build(x.shape)
        weights = [rng.standard_normal(w.shape).astype("float32") for w in layer.weights]
        layer.set_weights(weights)
        y = np.asarray(layer(x))
        arrays[f"{name}/class"] = np.array(cls_name)
        arrays[f"{name}/kwargs"] = np.array(json.dumps(kwargs))
        arrays[f"{name}/x"] = x
        arrays[f"{name}/y"] = y
        arrays[f"{name}/n_weights"] = np.array(len(weights))
        for i, w in enumerate(weights):
            arrays[f"{name}/w{i}"] = w
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference.npz")
    np.savez_compressed(out, **arrays)
    print(f"wrote {len(CASES)} cases to {out}")


if __name__ == "__main__":
    main()
