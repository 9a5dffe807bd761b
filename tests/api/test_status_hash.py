"""``Status.__eq__`` and ``__hash__`` agree: equal objects hash equal (checked by hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import pixxel_geo as px

NAMES = ["SUCCESS", "success", "Successful", "FAILED", "error", "in-progress", "IN PROGRESS", "created", "queued",
         "UNSPECIFIED", "ARCHIVING", "expired", "", "unknown", "UNKNOWN"]  # fmt: skip
raws = st.one_of(st.sampled_from(NAMES), st.text(max_size=12))
kinds = st.sampled_from([px.DeliveryStatus, px.DownloadStatus])
statuses = st.builds(lambda kind, raw: kind(raw), kinds, raws)


@given(statuses, st.one_of(statuses, raws))
def test_equal_objects_hash_equal(status, other):
    if status == other:
        assert hash(status) == hash(other)
    assert (status == other) == (other == status)  # symmetric, for strings too


@given(statuses)
def test_a_status_equals_itself_and_a_copy(status):
    copy = type(status)(status.raw)
    assert status == status and status == copy and hash(status) == hash(copy)
    assert len({status, copy}) == 1


def test_statuses_mix_with_their_names_in_sets_and_dicts():
    assert px.DeliveryStatus("successful") in {"SUCCESS"}
    assert {px.DownloadStatus("success"): 1}["SUCCESS"] == 1
    assert px.DeliveryStatus("SUCCESS") != px.DownloadStatus("SUCCESS")  # different vocabularies
    assert px.DeliveryStatus("ARCHIVING") != px.DeliveryStatus("EXPIRED")  # unknown: the raw text tells
    assert px.DeliveryStatus("ARCHIVING") == px.DeliveryStatus("ARCHIVING")
    assert px.DeliveryStatus("ARCHIVING") != "UNKNOWN" and px.DeliveryStatus("ARCHIVING") != "ARCHIVING"
    assert px.DownloadStatus("success") != "success"  # strings are compared with the canonical name
