"""Checks that cross the OpenAI codec modules: the reference checker itself can fail.

The per-module tests are in test_messages.py, test_request.py, test_reply.py,
test_stream.py and test_errors.py.
"""

from __future__ import annotations

import pytest

from tests.support.openai_reference import (
    WireMismatch,
    check_request_body,
)


def test_reference_checker_catches_mistakes() -> None:
    # The reference check must be able to fail, or the tests above prove nothing.
    with pytest.raises(WireMismatch, match="no key"):
        check_request_body({"model": "m", "messages": [{"role": "user", "content": "x", "nickname": "y"}]})
    with pytest.raises(WireMismatch, match="requires"):
        check_request_body({"messages": []})
    with pytest.raises(WireMismatch):
        check_request_body({"model": "m", "messages": [], "temperature": "hot"})
