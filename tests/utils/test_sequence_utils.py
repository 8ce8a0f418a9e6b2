"""`keras.utils.pad_sequences` and the serialization names Keras 3 keeps in `keras.utils`."""

import numpy as np
import pytest

import gkeras as keras
from gkeras.utils import pad_sequences


def _reference(sequences, maxlen, padding, truncating, value):
    rows = []
    for s in sequences:
        s = list(s)
        s = (s[len(s) - maxlen:] if len(s) > maxlen else s) if truncating == "pre" else s[:maxlen]
        pad = [value] * (maxlen - len(s))
        rows.append(pad + s if padding == "pre" else s + pad)
    return np.array(rows)


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
@pytest.mark.parametrize("maxlen", [None, 0, 2, 5])
def test_pad_sequences_matches_the_rule(padding, truncating, maxlen):
    sequences = [[1, 2, 3], [4], [], [5, 6, 7, 8]]
    out = pad_sequences(sequences, maxlen=maxlen, padding=padding, truncating=truncating,
                        value=-1)
    expected = _reference(sequences, 4 if maxlen is None else maxlen, padding, truncating, -1)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, expected.reshape(4, -1))


def test_pad_sequences_of_vectors_and_text():
    steps = [np.ones((2, 3)), np.full((1, 3), 2.0)]
    out = pad_sequences(steps, dtype="float32", padding="post")
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out[1], [[2, 2, 2], [0, 0, 0]])
    words = pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert words.tolist() == [["a", "b"], ["<pad>", "c"]]


def test_pad_sequences_bad_input():
    with pytest.raises(ValueError, match='`padding` must be "pre" or "post"'):
        pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="`maxlen` must be >= 0"):
        pad_sequences([[1]], maxlen=-1)
    with pytest.raises(ValueError, match="has no length"):
        pad_sequences([[1], 3])
    with pytest.raises(ValueError, match="string padding value"):
        pad_sequences([[1]], value="x")


def test_serialization_names_are_reachable_from_utils():
    assert keras.utils.register_keras_serializable is keras.saving.register_keras_serializable
    assert keras.utils.custom_object_scope is keras.saving.custom_object_scope
    assert keras.utils.get_custom_objects is keras.saving.get_custom_objects
    with pytest.raises(AttributeError, match="no attribute 'not_there'"):
        _ = keras.utils.not_there
    assert keras.KerasTensor is type(keras.Input((2,)))
    assert keras.config.backend() == keras.backend.backend()
