from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.transfer.transfer_range_server import ServerState, serve


@pytest.fixture
def payload() -> bytes:
    return os.urandom(1_000_003)  # not a multiple of any part size


@pytest.fixture
def local_file(payload: bytes) -> Iterator[tuple[ServerState, str]]:
    state = ServerState(payload=payload)
    with serve(state) as url:
        yield state, url
