"""Read an ENVI header (``.hdr``): ``key = value`` lines, ``{…}`` lists that may span lines.

Pixxel ships a ``.hdr`` with each product; its contents are not published, so this reads
ENVI's header format as ENVI and GDAL define it and leaves interpreting the fields to
:mod:`pixxel_geo.io.calibration`.

Example:
    >>> header = parse_envi_header("ENVI\\nbands = 2\\nwavelength = {470.0,\\n 480.5}\\n")
    >>> header["bands"], envi_floats(header["wavelength"])
    ('2', [470.0, 480.5])
"""

from __future__ import annotations

__all__ = ["envi_floats", "envi_list", "parse_envi_header"]


def parse_envi_header(text: str) -> dict[str, str]:
    """The fields of an ENVI header, keys lower-cased, values as written (lists keep their braces).

    Args:
        text: the header's text (the first line should be ``ENVI``; not required).

    Returns:
        ``{field: value}``; a field given twice keeps its last value.

    Example:
        >>> parse_envi_header("ENVI\\nWavelength Units = Nanometers\\n")["wavelength units"]
        'Nanometers'
    """
    fields: dict[str, str] = {}
    key: str | None = None
    value: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if key is not None:  # inside a {…} value
            value.append(line)
            if "}" in line:
                fields[key] = " ".join(value)
                key = None
            continue
        if not line or line.upper() == "ENVI" or line.startswith(";") or "=" not in line:
            continue
        name, _, rest = line.partition("=")
        name = " ".join(name.split()).lower()
        rest = rest.strip()
        if rest.startswith("{") and "}" not in rest:
            key, value = name, [rest]
            continue
        fields[name] = rest
    if key is not None:  # an unterminated list: keep what there is
        fields[key] = " ".join(value)
    return fields


def envi_list(value: str) -> list[str]:
    """The items of an ENVI ``{a, b, c}`` value (a bare value gives one item).

    Example:
        >>> envi_list("{B001, B002 ,B003}")
        ['B001', 'B002', 'B003']
    """
    inner = value.strip()
    if inner.startswith("{"):
        inner = inner[1:]
    if inner.endswith("}"):
        inner = inner[:-1]
    return [item.strip() for item in inner.split(",") if item.strip()]


def envi_floats(value: str) -> list[float]:
    """The numbers of an ENVI list value.

    Raises:
        ValueError: an item is not a number.

    Example:
        >>> envi_floats("{0.47, 4.8e2}")
        [0.47, 480.0]
    """
    return [float(item) for item in envi_list(value)]
