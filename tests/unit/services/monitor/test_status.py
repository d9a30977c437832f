"""Burrow's rules on crafted windows of (committed offset, lag)."""

from __future__ import annotations

from services.monitor.status import PartitionWindow, Status, group_status


def window(*samples: tuple[int, int], size: int = 4) -> PartitionWindow:
    w = PartitionWindow(size=size)
    for offset, lag in samples:
        w.add(offset, lag)
    return w


def test_any_zero_lag_is_ok() -> None:
    assert window((1, 5), (2, 0), (3, 4), (4, 6)).status(True) is Status.OK


def test_a_window_not_yet_full_is_ok() -> None:
    assert window((1, 5), (1, 6)).status(False) is Status.OK


def test_offsets_not_moving_with_lag_is_stall_with_members_and_stop_without() -> None:
    stuck = window((10, 3), (10, 5), (10, 8), (10, 9))
    assert stuck.status(has_members=True) is Status.STALL
    assert stuck.status(has_members=False) is Status.STOP


def test_moving_but_lag_never_shrinking_is_warn() -> None:
    assert window((10, 3), (12, 3), (15, 4), (20, 7)).status(True) is Status.WARN


def test_moving_and_catching_up_is_ok() -> None:
    assert window((10, 9), (20, 7), (30, 8), (40, 2)).status(True) is Status.OK


def test_an_offset_going_back_is_rewind() -> None:
    assert window((10, 1), (20, 1), (5, 16), (6, 15)).status(True) is Status.REWIND


def test_the_window_slides() -> None:
    w = window((10, 3), (10, 5), (10, 8), (10, 9))
    for offset in (11, 12, 13, 14):
        w.add(offset, 0)
    assert w.status(True) is Status.OK and len(w.samples) == 4


def test_group_status_takes_the_worst_partition() -> None:
    assert group_status([Status.OK, Status.OK]) is Status.OK
    assert group_status([Status.OK, Status.WARN]) is Status.WARN
    for bad in (Status.STOP, Status.STALL, Status.REWIND):
        assert group_status([Status.WARN, bad]) is Status.ERR
