"""`python -m simulator.bench.profile`: the paths' wall and CPU medians next to the bare chain's."""

from __future__ import annotations

from simulator.bench import profile


async def test_the_profile_measures_both_paths_and_the_chain() -> None:
    figures = await profile.measure(3, 1)
    assert figures.user_to_agent_cpu_ms > 0 and figures.agent_to_user_cpu_ms > 0
    assert figures.chain_1_hop_cpu_ms > 0 and figures.chain_2_hops_cpu_ms > 0 and figures.chain_3_hops_cpu_ms > 0
    lines = profile.table(figures).splitlines()
    assert [line.split(" | ")[0] for line in lines[2:]] == [
        "| user→agent",
        "| agent→user",
        "| agent→user, read-back GET not counted",
    ]
    assert "(1 hop)" in lines[2] and "(3 hops)" in lines[3] and "(2 hops)" in lines[4]


async def test_the_profile_can_measure_the_paths_with_an_httpx_ws_user() -> None:
    figures = await profile.measure(3, 1, user_client="httpx-ws")
    assert figures.user_to_agent_cpu_ms > 0 and figures.agent_to_user_cpu_ms > 0
