"""The quality mask's flags: which bit means what, and which bits a caller wants masked.

Pixxel delivers a bit-encoded quality mask (``.mask.tif``) flagging cloud, cloud shadow, water
and other conditions, but does not publish which bit is which. The table used is, in order:
the one the caller passes (``flags=``), the mask's own metadata (CF-style ``flag_masks`` and
``flag_meanings`` on its band, as the sandbox writes them), and :data:`QUALITY_FLAGS`.

Example:
    >>> mask_value(["cloud", "cloud_shadow"])
    3
    >>> flags_from_tags({"flag_masks": "1,2", "flag_meanings": "cloud shadow"})
    {'cloud': 0, 'shadow': 1}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pixxel_geo.api.errors import InvalidInputError

__all__ = ["DEFAULT_MASKED", "QUALITY_FLAGS", "flags_from_tags", "mask_value", "normalise_mask_request"]

#: Bit of each flag in the quality mask (bit 0 is the least significant). Not published by
#: Pixxel: this is the sandbox's choice and the default where a mask does not name its bits.
#: Override it with ``flags=`` where your products differ.
QUALITY_FLAGS: dict[str, int] = {
    "cloud": 0,
    "cloud_shadow": 1,
    "haze": 2,
    "water": 3,
    "snow_ice": 4,
    "saturated": 5,
    "no_data": 7,
}

#: What ``mask=True`` masks.
DEFAULT_MASKED = ("cloud", "cloud_shadow")


def flags_from_tags(tags: Mapping[str, str]) -> dict[str, int] | None:
    """The flag table a mask band's metadata gives (CF ``flag_masks`` + ``flag_meanings``), if any.

    Only single-bit masks become entries (a multi-bit mask has no one bit to name).

    Example:
        >>> flags_from_tags({"flag_masks": "1, 4", "flag_meanings": "cloud water"})
        {'cloud': 0, 'water': 2}
    """
    lowered = {k.lower(): v for k, v in tags.items()}
    masks, meanings = lowered.get("flag_masks"), lowered.get("flag_meanings")
    if not masks or not meanings:
        return None
    try:
        values = [int(v) for v in masks.replace(",", " ").split()]
    except ValueError:
        return None
    names = meanings.split()
    if len(values) != len(names):
        return None
    table = {name: value.bit_length() - 1 for name, value in zip(names, values, strict=True) if value > 0}
    return {n: b for n, b in table.items() if 1 << b == values[names.index(n)]} or None


def normalise_mask_request(mask: Any) -> tuple[str, ...]:
    """The flag names a ``mask=`` argument asks for (``None``/``False``: none; ``True``: the default).

    Raises:
        InvalidInputError: ``mask`` is not a flag name, a sequence of them, a bool or None.

    Example:
        >>> normalise_mask_request("cloud"), normalise_mask_request(True)
        (('cloud',), ('cloud', 'cloud_shadow'))
    """
    if mask is None or mask is False:
        return ()
    if mask is True:
        return DEFAULT_MASKED
    if isinstance(mask, str):
        return (mask,)
    if isinstance(mask, Iterable) and all(isinstance(m, str) for m in mask):
        return tuple(mask)
    raise InvalidInputError(
        f"mask must be a flag name, a list of flag names (e.g. ('cloud', 'cloud_shadow')), True or None, not {mask!r}"
    )


def mask_value(names: Iterable[str], table: Mapping[str, int] | None = None) -> int:
    """The bits to test for ``names`` (OR of their flags).

    Raises:
        InvalidInputError: a name is not in the table (the message lists the known ones).

    Example:
        >>> mask_value(["water"], {"water": 3})
        8
    """
    table = QUALITY_FLAGS if table is None else table
    value = 0
    for name in names:
        if name not in table:
            known = ", ".join(sorted(table, key=table.__getitem__))
            raise InvalidInputError(f"unknown quality flag {name!r}; this mask's flags are: {known}")
        value |= 1 << int(table[name])
    return value
