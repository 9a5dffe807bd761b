"""The CLI tests' fixture: the sandbox in the environment."""

from __future__ import annotations

import pytest


@pytest.fixture
def env(sandbox, monkeypatch):
    """The sandbox's key and URL in the environment, as a user's shell would have them."""
    monkeypatch.setenv("PIXXEL_API_KEY", sandbox.token)
    monkeypatch.setenv("PIXXEL_API_URL", sandbox.url)
    return sandbox
