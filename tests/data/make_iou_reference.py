"""Records real Keras 3 results of the IoU metrics into `keras_iou_reference.json` (read by
tests/metrics/test_metrics_iou.py).

Run with Keras 3 (recorded with Keras 3.15.1 on JAX):

    KERAS_BACKEND=jax python tests/data/make_iou_reference.py

Each case feeds two batches from a seeded NumPy generator; the inputs are stored beside the
results (after the first batch and after both), so the tests never regenerate them.
"""

import json
import os
import warnings

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_iou_reference.json")


def _ids(rng, shape, n, extra=()):
    ids = rng.integers(0, n, shape)
    for value in extra:  # sprinkle special ids (ignored / out of range)
        ids[rng.uniform(size=shape) < 0.15] = value
    return ids


def _scores(rng, shape):
    return rng.uniform(0.0, 1.0, shape)


def make_cases(rng):
    """(case id, class name, config, [(y_true, y_pred, sample_weight) per batch])."""
    cases = []
    batches = [(_ids(rng, 12, 3), _ids(rng, 12, 3), None) for _ in range(2)]
    cases.append(("mean_plain", "MeanIoU", {"num_classes": 3}, batches))
    batches = [(_ids(rng, (3, 4), 3), _ids(rng, (3, 4), 3), rng.uniform(0.1, 2.0, (3, 4)))
               for _ in range(2)]
    cases.append(("mean_float_weights", "MeanIoU", {"num_classes": 3, "dtype": "float32"},
                  batches))
    batches = [(_ids(rng, 10, 3), _ids(rng, 10, 3), rng.integers(0, 4, 10)) for _ in range(2)]
    cases.append(("mean_int_weights", "MeanIoU", {"num_classes": 3}, batches))
    batches = [(_ids(rng, 16, 4, extra=(255,)), _ids(rng, 16, 4, extra=(4,)),
                rng.uniform(0.1, 2.0, 16)) for _ in range(2)]
    cases.append(("mean_ignore_255_out_of_range", "MeanIoU",
                  {"num_classes": 4, "ignore_class": 255, "dtype": "float32"}, batches))
    batches = [(_ids(rng, 12, 4), _scores(rng, (12, 4)), rng.uniform(0.1, 2.0, 12))
               for _ in range(2)]
    cases.append(("iou_targets_dense_pred", "IoU",
                  {"num_classes": 4, "target_class_ids": [0, 2], "sparse_y_pred": False,
                   "dtype": "float32"}, batches))
    batches = [(_ids(rng, 14, 3), _ids(rng, 14, 3), None) for _ in range(2)]
    cases.append(("iou_ignore_0", "IoU",
                  {"num_classes": 3, "target_class_ids": [1, 2], "ignore_class": 0}, batches))
    # class 3 never occurs: its IoU is left out of the mean
    batches = [(_ids(rng, 10, 3), _ids(rng, 10, 3), None) for _ in range(2)]
    cases.append(("mean_absent_class", "MeanIoU", {"num_classes": 4}, batches))
    batches = [(_ids(rng, 12, 2), _scores(rng, 12), None) for _ in range(2)]
    cases.append(("binary_default", "BinaryIoU", {}, batches))
    batches = [(_ids(rng, (4, 3), 2), _scores(rng, (4, 3)), rng.uniform(0.1, 2.0, (4, 3)))
               for _ in range(2)]
    cases.append(("binary_threshold_target1", "BinaryIoU",
                  {"target_class_ids": [1], "threshold": 0.3, "dtype": "float32"}, batches))
    batches = []
    for _ in range(2):
        onehot = np.eye(4)[rng.integers(0, 4, (2, 3, 3))]
        batches.append((onehot, _scores(rng, (2, 3, 3, 4)), rng.uniform(0.1, 2.0, (2, 3, 3))))
    cases.append(("onehot_iou_segmentation", "OneHotIoU",
                  {"num_classes": 4, "target_class_ids": [1, 3], "dtype": "float32"}, batches))
    batches = [(np.eye(3)[rng.integers(0, 3, 12)], _ids(rng, 12, 3), None) for _ in range(2)]
    cases.append(("onehot_mean_sparse_pred_ignore", "OneHotMeanIoU",
                  {"num_classes": 3, "sparse_y_pred": True, "ignore_class": 1}, batches))
    batches = [(np.eye(3)[rng.integers(0, 3, 8)], _scores(rng, (8, 3)),
                rng.uniform(0.1, 2.0, 8)) for _ in range(2)]
    cases.append(("onehot_mean_weighted", "OneHotMeanIoU",
                  {"num_classes": 3, "dtype": "float32"}, batches))
    return cases


def _list(a):
    return None if a is None else np.asarray(a).tolist()


def main():
    import keras

    rng = np.random.default_rng(20261122)
    records = []
    for case_id, class_name, cfg, batches in make_cases(rng):
        metric = getattr(keras.metrics, class_name)(**cfg)
        results = []
        for y_true, y_pred, weight in batches:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                metric.update_state(y_true, y_pred, sample_weight=weight)
            results.append(float(metric.result()))
        config = metric.get_config()
        records.append({
            "id": case_id, "class_name": class_name, "init": cfg,
            "batches": [{"y_true": _list(t), "y_pred": _list(p), "sample_weight": _list(w)}
                        for t, p, w in batches],
            "results": results,
            "confusion_matrix": np.asarray(metric.variables[0]).tolist(),
            "config": config,
        })
    payload = {"keras_version": keras.__version__, "backend": keras.backend.backend(),
               "cases": records}
    with open(OUT, "w") as f:
        json.dump(payload, f, indent=1)
    print(f"wrote {len(records)} cases to {OUT}")


if __name__ == "__main__":
    main()
