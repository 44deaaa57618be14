"""Staff notes as events: what a note may hold, and how it reads on the timeline."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shoptrail.events import REGISTRY, decode, encode, new_event, topic_for, topics
from shoptrail.events.notes import MAX_NOTE, OrderNoteAdded


def test_a_note_reads_with_its_author_and_sits_on_its_orders_timeline() -> None:
    note = OrderNoteAdded(order_id="ord_1", author="sam", text="Gift wrap, please")
    assert note.render() == "Note by sam: Gift wrap, please"
    assert note.subject() == note.partition_key() == "ord_1"
    assert REGISTRY.get("order.note_added") is OrderNoteAdded
    assert topic_for(OrderNoteAdded) == topics.ACTIVITY


def test_a_note_is_trimmed_cleaned_and_survives_the_wire() -> None:
    note = OrderNoteAdded(order_id="o", author=" admin ", text="  a\x00b \ud800 ")
    assert (note.author, note.text) == ("admin", "a\ufffdb \ufffd")
    event = new_event(note, source="/services/activity")
    assert decode(encode(event)).data == note


@pytest.mark.parametrize("text", ["", "   \n\t", "x" * (MAX_NOTE + 1)])
def test_an_empty_or_overlong_note_is_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        OrderNoteAdded(order_id="o", author="admin", text=text)
