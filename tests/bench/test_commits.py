"""`python -m simulator.bench.commits`: a commit's cost per appended message, by conversation length."""

from __future__ import annotations

import pytest

from simulator.bench import commits


def test_the_commits_bench_prints_each_size_for_both_kinds_of_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert commits.main(["--sizes", "5,50", "--count", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("| messages in the conversation | GrowingList")
    assert [row.split(" | ")[0] for row in out[2:]] == ["| 5", "| 50"]
    assert all(row.endswith("× |") for row in out[2:])
