"""How a file is cut into parts for parallel ranged GETs."""

from __future__ import annotations

__all__ = ["MAX_PART_SIZE", "MIN_PART_SIZE", "TAPER", "plan_parts", "uniform_parts"]

MIN_PART_SIZE = 512 << 10
MAX_PART_SIZE = 256 << 20
TAPER = (3 / 4, 3 / 16, 1 / 16)
"""Fractions of each connection's share taken by its first, second and last part."""


def plan_parts(size: int, connections: int) -> list[tuple[int, int]]:
    """Cut ``size`` bytes into contiguous ``(start, end)`` parts (``end`` inclusive) for ``connections``.

    Every request pays one round trip before data flows (40 ms on a WAN), so
    each connection should make few requests: its share of the file comes in
    three parts taking 3/4, 3/16 and 1/16 of it, dealt in file order. Large
    parts first keep the round trips few; small parts last keep every
    connection busy to the end (one that finishes early takes the next small
    part) and keep short the bytes written beyond the hashed prefix when the
    download ends (see :class:`~pixxel_geo.transfer.digest.PrefixHasher`).
    Parts stay between :data:`MIN_PART_SIZE` and :data:`MAX_PART_SIZE`; large
    parts are resumable inside (the ledger records each part's progress).

    Args:
        size: the file size in bytes (0 gives no parts).
        connections: parallel connections (>= 1).

    Returns:
        The parts, in file order, covering the file exactly.

    Example:
        >>> parts = plan_parts(64 << 20, 4)
        >>> len(parts), parts[0], parts[-1][1]
        (12, (0, 12582911), 67108863)
    """
    if size <= 0:
        return []
    share = size / max(connections, 1)
    lengths: list[int] = []
    for fraction in TAPER:
        length = min(MAX_PART_SIZE, max(MIN_PART_SIZE, -(-int(share * fraction) // 4096) * 4096))
        rounds = max(1, round(share * fraction / length))
        lengths.extend([length] * (connections * rounds))
    parts: list[tuple[int, int]] = []
    start = 0
    for length in lengths:
        if start >= size:
            break
        end = min(size, start + length) - 1
        parts.append((start, end))
        start = end + 1
    if start < size:  # rounding left a remainder: the last part takes it
        if parts:
            parts[-1] = (parts[-1][0], size - 1)
        else:
            parts.append((0, size - 1))
    return parts


def uniform_parts(size: int, part_size: int) -> list[tuple[int, int]]:
    """Cut ``size`` bytes into equal parts of ``part_size`` (the last one shorter), ``end`` inclusive.

    Example:
        >>> uniform_parts(10, 4)
        [(0, 3), (4, 7), (8, 9)]
    """
    return [(start, min(size, start + part_size) - 1) for start in range(0, size, part_size)]
