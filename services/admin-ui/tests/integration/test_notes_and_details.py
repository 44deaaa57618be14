"""The note form and the details page over HTTP, against the real activity service.

The author is the logged-in admin whatever the form says; the form needs the
session's CSRF token; a resend of the same form makes one note; a Kafka that
is away gives the page back with the note as typed; the details page escapes.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from shoptrail.admin_ui.devtools.harness import (
    ActivityHandle,
    AdminClient,
    ServeAdmin,
    Story,
    log_in,
)
from shoptrail.events.ids import uuid7
from shoptrail.events.ingest import OrderCreated
from shoptrail.testing.waiting import eventually

pytestmark = [pytest.mark.postgres]
HOSTILE = "<script>alert(1)</script>"


async def notes_of(activity: ActivityHandle, order_id: str) -> list[dict[str, Any]]:
    rows = await activity.api("GET", f"/api/orders/{order_id}/timeline")
    return [r for r in rows if r["event_type"] == "order.note_added"]


async def wait_for_notes(
    activity: ActivityHandle, order_id: str, count: int
) -> list[dict[str, Any]]:
    """Poll until `count` notes are on the timeline (they arrive through Kafka), 30 s at most."""

    async def enough() -> list[dict[str, Any]]:
        found = await notes_of(activity, order_id)
        return found if len(found) >= count else []

    return await eventually(enough, f"{count} notes on the timeline of {order_id}", timeout=30)


@pytest.mark.kafka
async def test_a_note_is_signed_by_the_session_and_a_resend_is_one_note(
    serve_admin: ServeAdmin, live_activity: ActivityHandle, story: Story
) -> None:
    await live_activity.publish(
        story.at(0, OrderCreated.example().model_copy(update={"order_id": "ord_n"}))
    )
    admin = await serve_admin(live_activity)
    async with httpx.AsyncClient(base_url=admin, follow_redirects=False, timeout=20) as http:
        client = AdminClient(http, await log_in(http))
        form = {"text": "Ship with the gift note", "note_id": str(uuid7()), "author": "mallory"}
        for _ in range(2):  # a double click, a resend after a timeout
            response = await client.post("/admin/orders/ord_n/notes", form)
            assert response.status_code == 303, response.text
            assert response.headers["location"] == "/admin/orders/ord_n"
        other = await client.post(
            "/admin/orders/ord_n/notes", {"text": "Second", "note_id": str(uuid7())}
        )
        assert other.status_code == 303

        notes = await wait_for_notes(live_activity, "ord_n", 2)
        assert [n["message"] for n in notes] == [
            "Note by admin: Ship with the gift note",
            "Note by admin: Second",
        ]
        assert notes[0]["event_id"] == form["note_id"]
        page = await http.get("/admin/orders/ord_n")
        assert "Note by admin: Ship with the gift note" in page.text


@pytest.mark.kafka
async def test_the_note_form_needs_the_sessions_csrf_token(
    serve_admin: ServeAdmin, live_activity: ActivityHandle
) -> None:
    admin = await serve_admin(live_activity)
    async with httpx.AsyncClient(base_url=admin, follow_redirects=False, timeout=20) as http:
        await log_in(http)
        response = await http.post("/admin/orders/ord_c/notes", data={"text": "sneaky"})
        assert response.status_code == 403
        forged = await http.post(
            "/admin/orders/ord_c/notes", data={"text": "sneaky", "csrf_token": "not-it"}
        )
        assert forged.status_code == 403
    assert await notes_of(live_activity, "ord_c") == []


async def test_with_kafka_away_the_page_comes_back_with_the_note_as_typed(
    client: AdminClient, activity: ActivityHandle, story: Story
) -> None:
    await activity.log(story.at(0, OrderCreated.example().model_copy(update={"order_id": "ord_k"})))
    note_id = str(uuid7())
    response = await client.post(
        "/admin/orders/ord_k/notes", {"text": f"Call back {HOSTILE}", "note_id": note_id}
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "could not be saved just now" in response.text
    assert (
        f"Call back {HOSTILE.replace('<', '&lt;').replace('>', '&gt;')}</textarea>" in response.text
    )
    assert f'name="note_id" value="{note_id}"' in response.text  # a resend stays one note


async def test_the_details_page_shows_the_payload_as_escaped_text(
    client: AdminClient, activity: ActivityHandle, story: Story
) -> None:
    created = OrderCreated.example().model_copy(
        update={"order_id": "ord_d", "customer_email": f"x{HOSTILE}@example.com"}
    )
    (entry_id,) = await activity.log(story.at(0, created))
    page = await client.http.get(f"/admin/entries/{entry_id}")
    assert page.status_code == 200
    assert HOSTILE not in page.text
    assert "x&lt;script&gt;alert(1)&lt;/script&gt;@example.com" in page.text
    assert "not read from Kafka" in page.text  # written straight into the log here
    assert re.search(r'<pre class="payload"><code>\{\n  &#34;checkout_session_id', page.text)
    assert (await client.http.get("/admin/entries/987654")).status_code == 404
