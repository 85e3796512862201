"""The committed fixture runs are exactly what fixturegen.py produces."""

import filecmp
import os

import fixturegen
from analysis_testlib import FIXTURES


def test_fixtures_are_up_to_date(tmp_path):
    fixturegen.build_all(str(tmp_path))
    expected = sorted(os.listdir(tmp_path))
    assert sorted(os.listdir(FIXTURES)) == expected
    for run in expected:
        for name in ("manifest.json", "trials.jsonl"):
            assert filecmp.cmp(os.path.join(FIXTURES, run, name), tmp_path / run / name,
                               shallow=False), (f"{run}/{name} differs: run "
                                                "/usr/bin/python3 tests/analysis/fixturegen.py")
