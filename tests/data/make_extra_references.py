"""Records real Keras 3 values for the focal / overlap losses, the F-score and R2 metrics and
the Lion / Ftrl optimizers into `keras_losses_metrics_extra.json` (read by
tests/losses/test_losses_focal.py, tests/metrics/test_metrics_f_score.py and
tests/optimizers/test_optimizers_lion_ftrl.py).

Run with Keras 3 (any backend; recorded with JAX, float64 inputs cast to float32 by Keras):

    KERAS_BACKEND=jax python tests/data/make_extra_references.py

The inputs come from a seeded NumPy generator and are stored beside the outputs, so the tests
never need to regenerate them.
"""

import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_losses_metrics_extra.json")


def _list(a):
    return None if a is None else np.asarray(a, dtype=np.float64).tolist()


def make_loss_inputs(rng):
    probs = rng.uniform(0.02, 0.98, (4, 3))
    logits = rng.normal(0.0, 2.0, (4, 3))
    labels = (rng.uniform(size=(4, 3)) > 0.5).astype(np.float64)
    onehot = np.eye(3)[rng.integers(0, 3, 4)]
    soft = rng.uniform(0.0, 1.0, (4, 3))
    dist = rng.uniform(0.05, 1.0, (4, 3))
    dist /= dist.sum(-1, keepdims=True)
    masks_true = (rng.uniform(size=(2, 4, 4)) > 0.5).astype(np.float64)
    masks_pred = rng.uniform(0.0, 1.0, (2, 4, 4))
    weights = rng.uniform(0.2, 2.0, 4)
    return dict(probs=probs, logits=logits, labels=labels, onehot=onehot, soft=soft,
                dist=dist, masks_true=masks_true, masks_pred=masks_pred, weights=weights)


# (case id, class name, config, y_true key, y_pred key, use sample_weight)
LOSS_CASES = [
    ("bfce_default", "BinaryFocalCrossentropy", {}, "labels", "probs", False),
    ("bfce_balanced", "BinaryFocalCrossentropy",
     {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5}, "labels", "probs", False),
    ("bfce_logits_smooth", "BinaryFocalCrossentropy",
     {"from_logits": True, "label_smoothing": 0.2}, "labels", "logits", False),
    ("bfce_weighted_sum", "BinaryFocalCrossentropy",
     {"apply_class_balancing": True, "reduction": "sum"}, "soft", "probs", True),
    ("bfce_none", "BinaryFocalCrossentropy", {"gamma": 3.0, "reduction": "none"},
     "labels", "probs", False),
    ("bfce_gamma0", "BinaryFocalCrossentropy", {"gamma": 0.0}, "labels", "probs", False),
    ("cfce_default", "CategoricalFocalCrossentropy", {}, "onehot", "dist", False),
    ("cfce_logits_smooth", "CategoricalFocalCrossentropy",
     {"from_logits": True, "label_smoothing": 0.1, "alpha": 0.5, "gamma": 1.0},
     "onehot", "logits", False),
    ("cfce_weighted_none", "CategoricalFocalCrossentropy", {"reduction": "none"},
     "onehot", "dist", True),
    ("cfce_unnormalised_mean_w", "CategoricalFocalCrossentropy",
     {"reduction": "mean_with_sample_weight"}, "onehot", "probs", True),
    ("dice_all", "Dice", {}, "masks_true", "masks_pred", False),
    ("dice_axes", "Dice", {"axis": [1, 2], "reduction": "none"}, "masks_true", "masks_pred",
     False),
    ("tversky_default", "Tversky", {}, "masks_true", "masks_pred", False),
    ("tversky_axes", "Tversky", {"alpha": 0.7, "beta": 0.3, "axis": [1, 2]},
     "masks_true", "masks_pred", True),
]


def make_metric_inputs(rng):
    # two batches of 6 samples, 3 classes; class scores and multi-label targets
    scores = [rng.uniform(0.0, 1.0, (6, 3)) for _ in range(2)]
    multi = [(rng.uniform(size=(6, 3)) > 0.55).astype(np.float64) for _ in range(2)]
    onehot = [np.eye(3)[rng.integers(0, 3, 6)] for _ in range(2)]
    weights = [rng.uniform(0.0, 2.0, 6) for _ in range(2)]
    reg_true = [rng.normal(0.0, 1.0, (6, 2)) for _ in range(2)]
    reg_pred = [t + rng.normal(0.0, 0.5, (6, 2)) for t in reg_true]
    return dict(scores=scores, multi=multi, onehot=onehot, weights=weights, reg_true=reg_true,
                reg_pred=reg_pred)


METRIC_CASES = [
    ("f1_none_argmax", "F1Score", {}, "onehot", "scores"),
    ("f1_micro_thr", "F1Score", {"average": "micro", "threshold": 0.5}, "multi", "scores"),
    ("f1_macro_thr", "F1Score", {"average": "macro", "threshold": 0.4}, "multi", "scores"),
    ("f1_weighted_thr", "F1Score", {"average": "weighted", "threshold": 0.6}, "multi",
     "scores"),
    ("fbeta2_none_thr", "FBetaScore", {"beta": 2.0, "threshold": 0.5}, "multi", "scores"),
    ("fbeta05_macro", "FBetaScore", {"beta": 0.5, "average": "macro"}, "onehot", "scores"),
    ("r2_uniform", "R2Score", {}, "reg_true", "reg_pred"),
    ("r2_raw", "R2Score", {"class_aggregation": None}, "reg_true", "reg_pred"),
    ("r2_variance", "R2Score", {"class_aggregation": "variance_weighted_average"},
     "reg_true", "reg_pred"),
    ("r2_adjusted", "R2Score", {"num_regressors": 2}, "reg_true", "reg_pred"),
]


def make_optimizer_inputs(rng):
    w0 = rng.normal(0.0, 1.0, (3, 2))
    grads = [rng.normal(0.0, 1.0, (3, 2)) for _ in range(5)]
    grads[2][0, 0] = 0.0  # a zero gradient: Lion's sign(0) and Ftrl's flat accumulator
    return dict(w0=w0, grads=grads)


OPTIMIZER_CASES = [
    ("lion_default", "Lion", {}),
    ("lion_custom", "Lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.8}),
    ("ftrl_default", "Ftrl", {"learning_rate": 0.1}),
    ("ftrl_l1_l2", "Ftrl", {"learning_rate": 0.2, "l1_regularization_strength": 0.05,
                            "l2_regularization_strength": 0.1}),
    ("ftrl_shrinkage_beta", "Ftrl", {"learning_rate": 0.05, "learning_rate_power": -0.3,
                                     "initial_accumulator_value": 0.5,
                                     "l2_shrinkage_regularization_strength": 0.2,
                                     "beta": 0.3}),
    ("ftrl_power0", "Ftrl", {"learning_rate": 0.1, "learning_rate_power": 0.0,
                             "l1_regularization_strength": 0.01}),
]


def record():
    import keras

    rng = np.random.default_rng(20240611)
    loss_in = make_loss_inputs(rng)
    metric_in = make_metric_inputs(rng)
    opt_in = make_optimizer_inputs(rng)
    data = {"keras_version": keras.__version__, "backend": keras.backend.backend(),
            "loss_inputs": {k: _list(v) for k, v in loss_in.items()},
            "metric_inputs": {k: [_list(b) for b in v] for k, v in metric_in.items()},
            "optimizer_inputs": {"w0": _list(opt_in["w0"]),
                                 "grads": [_list(g) for g in opt_in["grads"]]},
            "losses": {}, "metrics": {}, "optimizers": {}}
    for case, cls, config, yt, yp, weighted in LOSS_CASES:
        loss = getattr(keras.losses, cls)(**config)
        sw = loss_in["weights"][:loss_in[yt].shape[0]] if weighted else None
        value = loss(loss_in[yt], loss_in[yp], sample_weight=sw)
        data["losses"][case] = {"class_name": cls, "config": config, "y_true": yt,
                                "y_pred": yp, "weighted": weighted,
                                "value": _list(keras.ops.convert_to_numpy(value))}
    for case, cls, config, yt, yp in METRIC_CASES:
        entry = {"class_name": cls, "config": config, "y_true": yt, "y_pred": yp}
        for weighted in (False, True):
            metric = getattr(keras.metrics, cls)(**config)
            results = []
            for b in range(2):
                sw = metric_in["weights"][b] if weighted else None
                metric.update_state(metric_in[yt][b], metric_in[yp][b], sample_weight=sw)
                results.append(_list(keras.ops.convert_to_numpy(metric.result())))
            entry["weighted" if weighted else "unweighted"] = results
        data["metrics"][case] = entry
    for case, cls, config in OPTIMIZER_CASES:
        opt = getattr(keras.optimizers, cls)(**config)
        w = keras.Variable(opt_in["w0"].astype("float32"))
        history = []
        for g in opt_in["grads"]:
            opt.apply([keras.ops.convert_to_tensor(g.astype("float32"))], [w])
            history.append(_list(keras.ops.convert_to_numpy(w)))
        data["optimizers"][case] = {"class_name": cls, "config": config, "weights": history}
    with open(OUT, "w") as f:
        json.dump(data, f, indent=1)
    print(f"wrote {OUT} (Keras {keras.__version__}, {keras.backend.backend()})")


if __name__ == "__main__":
    record()
