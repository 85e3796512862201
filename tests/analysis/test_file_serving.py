"""The file-serving crossover (analysis/file_serving.py): where a challenger's requests/s
ratio to sendfile falls through 1 going up in size, on a log2 size axis, and nothing where
it does not fall through."""

from analysis.file_serving import _crossing

K = 1024


def test_the_crossing_is_interpolated_on_a_log2_size_axis():
    # 1.5 at 4 KiB, 0.5 at 16 KiB: 1 is half way, at 8 KiB.
    assert abs(_crossing([4 * K, 16 * K], [1.5, 0.5]) - 8 * K) < 1e-6
    # The first fall through 1 counts; a later rise does not.
    assert abs(_crossing([4 * K, 8 * K, 16 * K, 32 * K], [1.2, 1.0, 1.3, 0.9]) - 8 * K) < 1e-6


def test_no_fall_through_one_is_no_crossing():
    assert _crossing([4 * K, 16 * K], [1.2, 1.1]) is None  # beats it everywhere
    assert _crossing([4 * K, 16 * K], [0.8, 0.9]) is None  # nowhere
    assert _crossing([4 * K, 16 * K], [0.8, 1.2]) is None  # rises through 1
    assert _crossing([4 * K, 16 * K], [None, 0.5]) is None  # a ratio missing
