"""EpochMetrics: the one record of an epoch, finite or None, and readable from a checkpoint."""

import math

from nasbench.train.metrics import EpochMetrics


def test_nan_and_infinity_become_none_so_no_listener_sees_them() -> None:
    m = EpochMetrics(3, train_loss=0.5, val_loss=math.nan, val_acc=math.inf, epoch_time_s=2, train_samples_per_s=None)
    assert (m.val_loss, m.val_acc, m.train_samples_per_s) == (None, None, None)
    assert m.train_loss == 0.5 and m.epoch_time_s == 2.0 and isinstance(m.epoch_time_s, float)


def test_a_checkpoint_of_an_earlier_release_reads_back() -> None:
    # Supernet checkpoints written before the record was typed hold plain dicts with NaN for
    # "not measured" and no entry for a measure they did not take.
    old = {"epoch": 2.0, "train_loss": 1.25, "val_loss": math.nan, "val_acc": 0.75, "epoch_time_s": 4.0}
    m = EpochMetrics.from_dict(old)
    assert m == EpochMetrics(2, 1.25, None, 0.75, 4.0, None)
    assert EpochMetrics.from_dict(m.to_dict()) == m
