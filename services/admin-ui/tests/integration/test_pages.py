"""Pages and actions over HTTP, with the real activity (and fulfilment, notifier) behind."""

from __future__ import annotations

import re

import httpx
import pytest

from shoptrail.admin_ui.devtools.harness import (
    ActivityHandle,
    AdminClient,
    ServeAdmin,
    Story,
    log_in,
)
from shoptrail.events.ingest import EmailBounced

pytestmark = pytest.mark.postgres

ROW_ID = re.compile(r'<li class="entry[^"]*" id="entry-(\d+)"')


def row_ids(html: str) -> list[int]:
    return [int(i) for i in ROW_ID.findall(html)]


class TestOrderPage:
    async def test_summary_items_and_the_whole_story_oldest_first(
        self, client: AdminClient, activity: ActivityHandle, story: Story
    ) -> None:
        await activity.log(*story.order_with_a_failed_submission("ord_1", "SS-1"))
        page = await client.http.get("/admin/orders/ord_1")
        assert page.status_code == 200
        html = page.text
        assert "Order SS-1" in html and "£43.00" in html and "Mountain Tee" in html
        messages = re.findall(r'<span class="message">([^<]*)</span>', html)
        assert messages == [
            "Order placed — £43.00 via Stripe",
            "Order confirmation sent to customer@example.com",
            "Submission to Printify failed: variant out of stock",
            "Submission retried — attempt 2 of 3",
            "Submitted to Printify (PFY-78299)",
            "In production at Printify",
        ]
        icons = re.findall(r'role="img" aria-label="(\w+)">(.)</span>', html)
        assert [i for _, i in icons] == ["●", "●", "⚠", "●", "●", "●"]
        assert "data-refresh" in html  # in production: still in progress

    async def test_each_entry_names_its_trace_and_links_to_the_operators_viewer(
        self, serve_admin: ServeAdmin, activity: ActivityHandle, story: Story
    ) -> None:
        trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
        placed, *_ = story.order_with_a_failed_submission("ord_1", "SS-1")
        traced = placed.model_copy(update={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
        await activity.log(traced)
        viewer = "https://jaeger.example/trace/{trace_id}"
        admin = await serve_admin(activity, trace_url=viewer)
        async with httpx.AsyncClient(base_url=admin, timeout=20) as http:
            await log_in(http)
            html = (await http.get("/admin/orders/ord_1")).text
        link = f'<a href="https://jaeger.example/trace/{trace_id}" target="_blank"'
        assert link in html and f"<code>{trace_id}</code>" in html

    async def test_without_a_viewer_the_trace_id_is_text(
        self, client: AdminClient, activity: ActivityHandle, story: Story
    ) -> None:
        trace_id = "0af7651916cd43dd8448eb211c80319c"
        placed, *_ = story.order_with_a_failed_submission("ord_1", "SS-1")
        traced = placed.model_copy(update={"traceparent": f"00-{trace_id}-b7ad6b7169203331-01"})
        await activity.log(traced)
        html = (await client.http.get("/admin/orders/ord_1")).text
        assert f"trace <code>{trace_id}</code>" in html and "jaeger" not in html

    async def test_the_live_fragment_and_an_unknown_order(self, client: AdminClient) -> None:
        assert (await client.http.get("/admin/orders/nope")).status_code == 404
        fragment = await client.http.get("/admin/orders/nope/live")
        assert fragment.status_code == 404

    async def test_orders_list_searches(
        self, client: AdminClient, activity: ActivityHandle, story: Story
    ) -> None:
        await activity.log(*story.order_with_a_failed_submission("ord_1", "SS-1"))
        await activity.log(*story.order_with_a_failed_submission("ord_2", "SS-2"))
        everything = await client.http.get("/admin/orders")
        assert "SS-1" in everything.text and "SS-2" in everything.text
        one = await client.http.get("/admin/orders", params={"q": "SS-2"})
        assert "SS-2" in one.text and "SS-1" not in one.text


class TestFeed:
    async def test_tabs_filters_and_search(
        self, client: AdminClient, activity: ActivityHandle, story: Story
    ) -> None:
        await activity.log(
            *story.order_with_a_failed_submission("ord_1", "SS-1"),
            story.at(10, story.sync_failed("API rate limit exceeded")),
            story.at(11, EmailBounced.example()),
        )
        everything = await client.http.get("/admin/activity")
        assert len(row_ids(everything.text)) == 8
        # The failed submission was resolved automatically by the later successful one.
        assert "Needs attention (<span data-attention-count>2</span>)" in everything.text
        attention = await client.http.get("/admin/activity", params={"tab": "attention"})
        assert len(row_ids(attention.text)) == 2
        assert "Resolve all 2 matching" in attention.text
        assert "Resolved automatically" in everything.text
        syncs = await client.http.get("/admin/activity", params={"category": "syncs"})
        assert "Product sync failed" in syncs.text and len(row_ids(syncs.text)) == 1
        found = await client.http.get("/admin/activity", params={"q": "stock"})
        assert len(row_ids(found.text)) == 1 and "variant out of stock" in found.text

    async def test_a_search_matching_more_than_a_thousand_says_1000_and_more(
        self, client: AdminClient, activity: ActivityHandle, story: Story
    ) -> None:
        await activity.log(*(story.at(i, story.sync_completed(i)) for i in range(1100)))
        found = await client.http.get("/admin/activity", params={"q": "sync"})
        assert '<p id="feed-total">1,000+ entries</p>' in found.text
        everything = await client.http.get("/admin/activity")
        assert '<p id="feed-total">1,100 entries</p>' in everything.text

    async def test_fifty_per_page_with_older_and_newer(
        self, client: AdminClient, activity: ActivityHandle, story: Story
    ) -> None:
        await activity.log(*(story.at(i, story.sync_completed(i)) for i in range(120)))
        first = await client.http.get("/admin/activity")
        ids = row_ids(first.text)
        assert len(ids) == 50 and "Newer" not in first.text
        older = re.search(r'href="([^"]+)" rel="next"', first.text)
        assert older
        second = await client.http.get(older.group(1).replace("&amp;", "&"))
        assert len(row_ids(second.text)) == 50 and not set(row_ids(second.text)) & set(ids)
        newer = re.search(r'href="([^"]+)" rel="prev"', second.text)
        assert newer
        back = await client.http.get(newer.group(1).replace("&amp;", "&"))
        assert row_ids(back.text) == ids

    async def test_resolve_dismiss_and_resolve_all_matching(
        self, client: AdminClient, activity: ActivityHandle, story: Story
    ) -> None:
        ids = await activity.log(
            story.at(1, story.sync_failed("first")),
            story.at(2, story.sync_failed("second")),
            story.at(3, story.submission_failed("ord_9", "out of stock")),
            story.at(4, story.submission_failed("ord_8", "out of ink")),
        )
        resolved = await client.post(
            f"/admin/activity/entries/{ids[0]}/resolve",
            {"note": "rate limit <b>lifted</b>", "next": "/admin/activity?tab=attention"},
        )
        assert resolved.status_code == 303
        assert resolved.headers["location"] == "/admin/activity?tab=attention"
        entry = await activity.api("GET", f"/api/entries/{ids[0]}")
        assert entry["resolution"] == "resolved"
        assert entry["resolution_note"] == "rate limit <b>lifted</b>"

        row = await client.post(
            f"/admin/activity/entries/{ids[1]}/dismiss", headers={"X-Requested-With": "fetch"}
        )
        assert row.status_code == 200
        assert row_ids(row.text) == [ids[1]] and "Dismissed" in row.text
        assert ">Resolve</button>" not in row.text  # no actions once dealt with

        bulk = await client.post(
            "/admin/activity/resolve-matching", {"tab": "attention", "q": "stock"}
        )
        assert bulk.status_code == 303
        assert (await activity.api("GET", "/api/attention/count"))["count"] == 1
        page = await client.http.get(bulk.headers["location"])
        assert "Resolved 1 entry." in page.text
        listed = await client.http.get("/admin/activity", params={"tab": "attention"})
        assert row_ids(listed.text) == [ids[3]]
        assert (
            "rate limit &lt;b&gt;lifted&lt;/b&gt;"
            in (await client.http.get("/admin/activity")).text
        )

    async def test_rows_changed_since_the_page_for_live_updates(
        self, client: AdminClient, activity: ActivityHandle, story: Story
    ) -> None:
        page = await client.http.get("/admin/activity", params={"category": "syncs"})
        seq = int(page.text.split('data-feed-seq="', 1)[1].split('"', 1)[0])
        fetch = {"X-Requested-With": "fetch"}
        sync, bounce = await activity.log(
            story.at(1, story.sync_failed()), story.at(2, EmailBounced.example())
        )
        everything = await client.http.get(f"/admin/activity/rows?since={seq}", headers=fetch)
        assert set(row_ids(everything.text)) == {sync, bounce}
        assert everything.text.count("data-arrives") == 2
        assert everything.headers["X-Feed-Complete"] == "1"
        assert everything.headers["X-Feed-Reload"] == "0"
        now = int(everything.headers["X-Feed-Seq"])
        assert now > seq

        syncs = await client.http.get(f"/admin/activity/rows?since={seq}&category=syncs")
        assert row_ids(syncs.text) == [sync]  # the bounce never was, nor will be, on that page
        nothing = await client.http.get(f"/admin/activity/rows?since={now}", headers=fetch)
        assert row_ids(nothing.text) == [] and nothing.headers["X-Feed-Seq"] == str(now)

        await client.post(f"/admin/activity/entries/{sync}/resolve")
        resolved = await client.http.get(f"/admin/activity/rows?since={now}&tab=attention")
        assert row_ids(resolved.text) == [sync]  # the page may show it: update it there
        assert "data-arrives" not in resolved.text and "Resolved" in resolved.text

        gone = await client.http.get(f"/admin/activity/rows?since={now + 1000}", headers=fetch)
        assert gone.headers["X-Feed-Reload"] == "1"  # a fresh first page instead
        assert set(row_ids(gone.text)) == {sync, bounce}


class TestRetries:
    async def test_retry_sync_queues_once_then_says_already_queued(
        self,
        serve_admin: ServeAdmin,
        activity: ActivityHandle,
        fulfilment: str,
        story: Story,
    ) -> None:
        admin = await serve_admin(activity, fulfilment_url=fulfilment)
        (entry_id,) = await activity.log(story.at(1, story.sync_failed()))
        async with httpx.AsyncClient(base_url=admin) as http:
            client = AdminClient(http, await log_in(http))
            fetch = {"X-Requested-With": "fetch"}
            path = f"/admin/activity/entries/{entry_id}/retry-sync"
            first = await client.post(path, headers=fetch)
            assert "Retry queued" in first.text
            second = await client.post(path, headers=fetch)
            assert "Already queued" in second.text

    async def test_retry_submission_reports_fulfilments_refusal(
        self,
        serve_admin: ServeAdmin,
        activity: ActivityHandle,
        fulfilment: str,
        story: Story,
    ) -> None:
        admin = await serve_admin(activity, fulfilment_url=fulfilment)
        (entry_id,) = await activity.log(story.at(1, story.submission_failed("ord_x", "boom")))
        async with httpx.AsyncClient(base_url=admin) as http:
            client = AdminClient(http, await log_in(http))
            answer = await client.post(
                f"/admin/activity/entries/{entry_id}/retry-submission",
                headers={"X-Requested-With": "fetch"},
            )
            assert "Not retried: no order ord_x" in answer.text


class TestSettings:
    async def test_read_and_save_through_the_notifier(
        self, serve_admin: ServeAdmin, activity: ActivityHandle, notifier: str
    ) -> None:
        admin = await serve_admin(activity, notifier_url=notifier)
        async with httpx.AsyncClient(base_url=admin) as http:
            client = AdminClient(http, await log_in(http))
            form = await http.get("/admin/settings")
            assert (
                'id="recovery" name="recovery_enabled" type="checkbox" value="true" ' in form.text
            )
            saved = await client.post(
                "/admin/settings",
                {
                    "sender_name": "Sam's Prints",
                    "sender_address": "hello@samsprints.shop",
                    "recovery_enabled": "true",
                },
            )
            assert saved.status_code == 303
            page = await http.get("/admin/settings")
            assert "Settings saved." in page.text
            assert 'value="Sam&#39;s Prints"' in page.text
            assert 'value="true" checked' in page.text

            refused = await client.post(
                "/admin/settings", {"sender_name": "Sam", "sender_address": "not an address"}
            )
            assert refused.status_code == 422 and "Not saved" in refused.text


async def test_a_service_that_does_not_answer_gives_a_clear_page(
    serve_admin: ServeAdmin, activity: ActivityHandle
) -> None:
    admin = await serve_admin(activity)
    async with httpx.AsyncClient(base_url=admin) as http:
        client = AdminClient(http, await log_in(http))
        page = await client.http.get("/admin/settings")  # the notifier is not running
        assert page.status_code == 502
        assert "The notifier service is not answering" in page.text


async def test_readiness_is_a_round_trip_to_the_activity_service(
    serve_admin: ServeAdmin, activity: ActivityHandle
) -> None:
    admin = await serve_admin(activity)
    async with httpx.AsyncClient(base_url=admin) as http:
        ready = await http.get("/readyz")
        alive = await http.get("/healthz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["activity"] is True
    assert alive.json() == {"status": "ok", "service": "admin-ui"}
