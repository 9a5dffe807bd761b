"""A store filesystem made before the credential environment changed is not reused after it."""

from __future__ import annotations

import pytest

from pixxel_geo.io.stores import filesystem_for


def test_a_profile_set_later_gets_a_filesystem_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    before = filesystem_for("s3://bucket/key.zip")
    assert filesystem_for("s3://bucket/other.zip") is before  # same options, same environment: shared
    monkeypatch.setenv("AWS_PROFILE", "analytics")
    after = filesystem_for("s3://bucket/key.zip")
    assert after is not before
    monkeypatch.delenv("AWS_PROFILE")
    assert filesystem_for("s3://bucket/key.zip") is before
