"""The trace-viewer link: a template the operator sets, refused at start when it cannot work."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shoptrail.admin_ui.config import Settings
from shoptrail.admin_ui.entrypoints.web import trace_href


def test_the_trace_id_goes_where_the_template_says() -> None:
    template = Settings(environment="test", trace_url="http://jaeger:16686/trace/{trace_id}")
    assert template.trace_url is not None
    assert trace_href(template.trace_url, "ab" * 16) == f"http://jaeger:16686/trace/{'ab' * 16}"
    assert trace_href(None, "ab" * 16) is None
    assert trace_href(template.trace_url, None) is None


@pytest.mark.parametrize(
    "template",
    ["javascript:alert(1)//{trace_id}", "https://jaeger.example/trace/", "jaeger/{trace_id}"],
)
def test_a_template_that_cannot_link_is_refused_at_start(template: str) -> None:
    with pytest.raises(ValidationError, match="trace_url"):
        Settings(environment="test", trace_url=template)
