"""`gkeras.utils.sequence`: the Sequence / PyDataset base class."""

import pickle

import numpy as np
import pytest

from gkeras.utils.sequence import PyDataset, Sequence


class Squares(Sequence):
    """Batch i is [[i], [i]] squared: easy to recognise."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = n
        self.epochs_ended = 0

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        if not 0 <= index < self.n:
            raise IndexError(index)
        return np.full((2, 1), index**2, dtype="float32")

    def on_epoch_end(self):
        self.epochs_ended += 1


class Keras2Style(Sequence):
    """A Keras 2 subclass that never calls super().__init__()."""

    def __len__(self):
        return 3

    def __getitem__(self, index):
        return np.zeros((1, 1)), np.zeros((1, 1))


def test_pydataset_is_the_same_class_as_sequence():
    assert PyDataset is Sequence
    assert isinstance(Squares(2), PyDataset)


def test_base_class_methods_must_be_implemented():
    class Empty(Sequence):
        pass

    with pytest.raises(NotImplementedError, match="Empty must implement __len__"):
        len(Empty())
    with pytest.raises(NotImplementedError, match=r"Empty must implement __getitem__"):
        Empty()[0]


def test_iteration_len_and_num_batches():
    seq = Squares(4)
    assert len(seq) == 4 and seq.num_batches == 4
    batches = list(seq)
    assert len(batches) == 4
    for i, batch in enumerate(batches):
        np.testing.assert_array_equal(batch, np.full((2, 1), i * i))


def test_default_hooks_do_nothing_and_are_overridable():
    seq = Squares(2)
    seq.on_epoch_begin()
    seq.on_epoch_end()
    seq.on_epoch_end()
    assert seq.epochs_ended == 2
    assert Sequence.on_epoch_end(seq) is None


def test_pipeline_settings_default_and_explicit():
    seq = Squares(2)
    assert (seq.workers, seq.use_multiprocessing, seq.max_queue_size) == (1, False, 10)
    assert seq.pipeline_settings() == {}
    seq = Squares(2, workers=3, use_multiprocessing=True, max_queue_size=4)
    assert (seq.workers, seq.use_multiprocessing, seq.max_queue_size) == (3, True, 4)
    assert seq.pipeline_settings() == {"workers": 3, "use_multiprocessing": True,
                                       "max_queue_size": 4}
    seq = Squares(2, workers=np.int64(0))
    assert seq.workers == 0 and type(seq.workers) is int
    assert seq.pipeline_settings() == {"workers": 0}


def test_settings_can_be_changed_through_properties():
    seq = Squares(2)
    seq.workers = 2
    seq.max_queue_size = 1
    seq.use_multiprocessing = False
    assert seq.pipeline_settings() == {"workers": 2, "use_multiprocessing": False,
                                       "max_queue_size": 1}
    with pytest.raises(ValueError, match="workers must be a non-negative integer, got -1"):
        seq.workers = -1
    with pytest.raises(TypeError, match="use_multiprocessing must be True or False"):
        seq.use_multiprocessing = "yes"


@pytest.mark.parametrize("kwargs, error, message", [
    ({"workers": -2}, ValueError, "workers must be a non-negative integer, got -2"),
    ({"workers": 1.5}, ValueError, "workers must be a non-negative integer, got 1.5"),
    ({"workers": True}, ValueError, "workers must be a non-negative integer, got True"),
    ({"max_queue_size": 0}, ValueError, "max_queue_size must be a positive integer, got 0"),
    ({"max_queue_size": "10"}, ValueError, "max_queue_size must be a positive integer"),
    ({"use_multiprocessing": 1}, TypeError, "use_multiprocessing must be True or False, got 1"),
])
def test_bad_constructor_arguments_are_rejected(kwargs, error, message):
    with pytest.raises(error, match=message):
        Squares(2, **kwargs)


def test_keras2_subclass_without_super_init_has_defaults():
    seq = Keras2Style()
    assert (seq.workers, seq.use_multiprocessing, seq.max_queue_size) == (1, False, 10)
    assert seq.pipeline_settings() == {}
    assert len(list(seq)) == 3


def test_sequence_pickles_with_its_settings():
    seq = Squares(5, workers=2, max_queue_size=3)
    copy = pickle.loads(pickle.dumps(seq))
    assert len(copy) == 5 and copy.pipeline_settings() == seq.pipeline_settings()
    np.testing.assert_array_equal(copy[4], seq[4])
