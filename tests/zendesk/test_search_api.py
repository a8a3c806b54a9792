"""Zendesk's Search API for tickets: the query subset, the response shape, paging, errors, auth."""

from __future__ import annotations

import httpx
from test_support_more import open_ticket
from zdhelpers import zendesk_auth

from simulator.config import Settings


async def test_tickets_found_by_tags_status_and_words_in_zendesks_shape(
    zclient: httpx.AsyncClient, settings: Settings
) -> None:
    await open_ticket(zclient, settings, "Ana")
    await open_ticket(zclient, settings, "Bo")
    auth = zendesk_auth(settings)
    tags = {"ticket": {"tags": ["polyai_handoff", "polyai_conv_abc", "VIP"]}}
    assert (await zclient.put("/api/v2/tickets/1.json", json=tags, auth=auth)).status_code == 200
    await zclient.put("/api/v2/tickets/2.json", json={"ticket": {"status": "solved"}}, auth=auth)

    async def search(query: str, **params: str) -> dict:
        response = await zclient.get("/api/v2/search.json", params={"query": query, **params}, auth=auth)
        assert response.status_code == 200, response.text
        return response.json()

    found = await search("type:ticket tags:polyai_conv_abc")
    assert set(found) == {"results", "facets", "next_page", "previous_page", "count"}
    assert found["count"] == 1 and found["facets"] is None and found["next_page"] is None
    [ticket] = found["results"]
    assert ticket["result_type"] == "ticket" and ticket["id"] == 1 and "vip" in ticket["tags"]
    assert ticket["url"].endswith("/api/v2/tickets/1.json") and ticket["status"] == "new"
    assert [t["id"] for t in (await search("type:ticket status:solved"))["results"]] == [2]
    assert [t["id"] for t in (await search("type:ticket status<solved"))["results"]] == [1]
    assert [t["id"] for t in (await search("type:ticket -tags:vip"))["results"]] == [2]
    assert [t["id"] for t in (await search("Bo"))["results"]] == [2]  # the subject "Conversation with Bo"
    assert [t["id"] for t in (await search("2"))["results"]] == [2]  # a bare number is a ticket id
    assert (await search("type:user tags:vip"))["results"] == []
    newest_first = await search("type:ticket", sort_by="created_at", sort_order="asc")
    assert [t["id"] for t in newest_first["results"]] == [1, 2]
    paged = await search("type:ticket", per_page="1", sort_order="asc")
    assert [t["id"] for t in paged["results"]] == [1] and paged["count"] == 2
    assert "page=2" in paged["next_page"] and paged["previous_page"] is None
    assert (await zclient.get("/api/v2/search", params={"query": "type:ticket"}, auth=auth)).status_code == 200


async def test_search_errors_and_auth(zclient: httpx.AsyncClient, settings: Settings) -> None:
    auth = zendesk_auth(settings)
    empty = await zclient.get("/api/v2/search.json", auth=auth)
    assert empty.status_code == 400 and empty.json()["error"] == "invalid"
    unclosed = await zclient.get("/api/v2/search.json", params={"query": 'subject:"half'}, auth=auth)
    assert unclosed.status_code == 400
    bad_sort = await zclient.get("/api/v2/search.json", params={"query": "x", "sort_by": "nope"}, auth=auth)
    assert bad_sort.status_code == 400 and "sort_by" in bad_sort.json()["description"]
    past = await zclient.get("/api/v2/search.json", params={"query": "x", "page": "11", "per_page": "100"}, auth=auth)
    assert past.status_code == 422
    token = settings.zendesk_api_token.get_secret_value()
    for user in ("/token", "agent/token", "agent@example.test"):  # Zendesk needs `{email}/token`
        refused = await zclient.get("/api/v2/search.json", params={"query": "x"}, auth=(user, token))
        assert refused.status_code == 401
