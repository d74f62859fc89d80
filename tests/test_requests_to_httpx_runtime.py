"""requests-to-httpx, run for real against a local upstream: every fixture app answers
the same before and after (error paths included), and converted routes run concurrently."""

from __future__ import annotations

from pathlib import Path

import pytest
from unjam.codemods.requests_to_httpx import RequestsToHttpx

from tests.apps import assert_rewritten_apps_answer_the_same, before_and_after
from tests.helpers import FIXTURES
from tests.servers import concurrent_gets, uvicorn
from tests.upstream import SLOW_SECONDS, upstream

pytestmark = pytest.mark.server


def test_every_rewritten_fixture_answers_the_same(tmp_path: Path) -> None:
    with upstream() as url:
        assert_rewritten_apps_answer_the_same(
            FIXTURES / "requests_to_httpx", tmp_path, minimum=15, env={"UPSTREAM": url}
        )


def test_converted_route_serves_concurrent_requests(tmp_path: Path) -> None:
    before_dir, after_dir = before_and_after("httpx_app.py", tmp_path, (RequestsToHttpx,))
    count = 20
    with upstream() as url:
        with uvicorn("httpx_app:app", before_dir, env={"UPSTREAM": url}) as port:
            before, before_statuses = concurrent_gets(port, "/slow", count)
        with uvicorn("httpx_app:app", after_dir, env={"UPSTREAM": url}) as port:
            after, after_statuses = concurrent_gets(port, "/slow", count)
    assert before_statuses == after_statuses == [200] * count
    sequential = count * SLOW_SECONDS
    assert before > sequential * 0.9, before  # requests serialises on the loop
    assert after < sequential / 4, (before, after)
