"""A bad query string or id in an admin URL is a 400 page that says why, never a 502."""

from __future__ import annotations

import pytest

from shoptrail.admin_ui.devtools.harness import AdminClient

pytestmark = pytest.mark.postgres

TOO_BIG = 2**63


@pytest.mark.parametrize(
    ("method", "path", "says"),
    [
        ("GET", "/admin/activity?after=!!!", "invalid cursor"),
        ("GET", "/admin/activity?before=AAAA", "invalid cursor"),
        ("GET", f"/admin/activity/rows?since={TOO_BIG}", "less than or equal to"),
        ("GET", "/admin/activity/rows?since=abc", "valid integer"),
        ("GET", "/admin/activity/rows", "Field required"),
        ("GET", "/admin/activity?q=%00", "U+0000"),
        ("GET", "/admin/orders?q=%00", "U+0000"),
        ("GET", "/admin/orders/ord%00x", "U+0000"),
        ("POST", f"/admin/activity/entries/{TOO_BIG}/resolve", "less than or equal to"),
        ("POST", "/admin/activity/entries/1/resolve?x=%00", "U+0000"),
    ],
)
async def test_a_bad_link_is_a_400_page_with_the_reason(
    client: AdminClient, method: str, path: str, says: str
) -> None:
    if method == "POST":
        response = await client.post(path)
    else:
        response = await client.http.get(path)
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert "Not a valid request" in response.text
    assert says in response.text
    assert "Content-Security-Policy" in response.headers


async def test_a_form_with_u0000_is_refused_before_it_reaches_a_service(
    client: AdminClient,
) -> None:
    response = await client.post("/admin/activity/resolve-matching", {"q": "a\x00b"})
    assert response.status_code == 400
    assert "U+0000" in response.text
