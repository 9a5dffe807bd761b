"""The built zip passes the checks plugins.qgis.org applies on upload.

The checks are those of QGIS-Django's upload validator (``qgis-app/plugins/validator.py``),
written again here (no Django): size, zip integrity and path safety, forbidden folders and
``.pyc`` files, one top-level folder named by the rules, ``__init__.py`` and ``metadata.txt``
with its ``[general]`` section, the mandatory fields, boolean flags, icon, author without
slashes, well-formed tracker/repository/homepage URLs that are not the template's placeholders,
and ``<folder>/LICENSE`` (mandatory since June 2024). The reachability of the URLs (the
validator sends HEAD requests) is not checked: the tests have no Internet. Binaries (refused
by the repository's review policy) are checked too.
"""

from __future__ import annotations

import configparser
import io
import re
import zipfile
from pathlib import Path
from urllib.parse import urlparse

MAX_UPLOAD = 25_000_000
REQUIRED = ("name", "description", "version", "qgisMinimumVersion", "author", "email", "about", "tracker", "repository")
BOOLEAN = ("experimental", "deprecated", "server")
PLACEHOLDER_URLS = {"tracker": "http://bugs", "repository": "http://repo", "homepage": "http://homepage"}
BINARY_SUFFIXES = (".so", ".pyd", ".dll", ".dylib", ".exe", ".pyc", ".pyo", ".a", ".lib", ".whl", ".egg")


class Refused(Exception):
    """What plugins.qgis.org would answer."""


def validate(package: Path) -> dict[str, str]:
    """Check a plugin zip as plugins.qgis.org does; return its metadata or raise :class:`Refused`."""
    if package.stat().st_size > MAX_UPLOAD:
        raise Refused("File is too big")
    try:
        zf = zipfile.ZipFile(package)
    except zipfile.BadZipFile as exc:
        raise Refused("Could not unzip file") from exc
    with zf:
        names = zf.namelist()
        for name in names:
            if ".." in name or name.startswith("/"):
                raise Refused(f"zip file cannot contain path information ({name})")
            if ".pyc" in name:
                raise Refused("zip file cannot contain .pyc file")
            for forbidden in ("__MACOSX", ".git", "__pycache__"):
                if forbidden in name.split("/"):
                    raise Refused(f"zip file cannot contain {forbidden!r} directory ({name})")
            if name.lower().endswith(BINARY_SUFFIXES):
                raise Refused(f"binary file {name}")
        bad = zf.testzip()
        if bad:
            raise Refused(f"Bad zip (maybe a CRC error) on file {bad}")
        tops = {name.split("/")[0] for name in names}
        if len(tops) != 1:
            raise Refused(f"multiple parent folders: {sorted(tops)}")
        if "/" not in names[0]:
            raise Refused("Cannot find a folder inside the compressed package")
        package_name = names[0][: names[0].index("/")]
        init, metadata_name = f"{package_name}/__init__.py", f"{package_name}/metadata.txt"
        if init not in names:
            raise Refused("Cannot find __init__.py in plugin package")
        if metadata_name not in names:
            raise Refused("Cannot find metadata.txt")
        parser = configparser.ConfigParser()
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_file(io.StringIO(zf.read(metadata_name).decode("utf-8")))
        if not parser.has_section("general"):
            raise Refused("Cannot find a section named 'general'")
        metadata = dict(parser.items("general"))
        missing = [field for field in REQUIRED if not metadata.get(field, "").strip()]
        if missing:
            raise Refused(f"Cannot find metadata {missing}")
        icon = metadata.get("icon", "").removeprefix("./")
        if icon and f"{package_name}/{icon}" not in names:
            raise Refused(f"icon {icon} is not in the zip")
        for flag in BOOLEAN:
            if flag in metadata and metadata[flag].strip().lower() not in ("true", "false", "1", "0"):
                raise Refused(f"{flag} must be True or False")
        if not re.match(r"^[A-Za-z][A-Za-z0-9-_]+$", package_name):
            raise Refused("bad top level directory name")
        for field, placeholder in PLACEHOLDER_URLS.items():
            url = metadata.get(field)
            if url is None and field == "homepage":
                continue
            parsed = urlparse(url or "")
            if url == placeholder or not (parsed.scheme and parsed.netloc):
                raise Refused(f"Please provide valid url link for {field}")
        if f"{package_name}/LICENSE" not in names:
            raise Refused("Cannot find LICENSE in the plugin package")
        if not re.match(r"^[^/]+$", metadata["author"]):
            raise Refused("Author name cannot contain slashes")
        if not re.match(r"^\d+\.\d+(\.\d+)?", metadata["version"]):
            raise Refused("version must be numeric")
        return metadata


def test_the_built_zip_passes_the_upload_checks(plugin_zip: Path) -> None:
    metadata = validate(plugin_zip)
    assert metadata["name"] == "Pixxel" and metadata["qgisMinimumVersion"] == "3.22"
    for field in ("homepage", "tracker", "repository", "tags", "changelog"):
        assert metadata.get(field, "").strip(), field
    assert metadata["version"] in metadata["changelog"]
    with zipfile.ZipFile(plugin_zip) as zf:
        license_text = zf.read("pixxel_plugin/LICENSE").decode()
    assert "Apache License" in license_text and "Version 2.0" in license_text


def _rezip(source: Path, dest: Path, drop: str = "", add: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(dest, "w") as zout:
        for item in zin.infolist():
            if item.filename != drop:
                zout.writestr(item, zin.read(item.filename))
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dest


def test_the_checks_refuse_what_the_site_refuses(plugin_zip: Path, tmp_path: Path) -> None:
    cases = {
        "no_license.zip": {"drop": "pixxel_plugin/LICENSE"},
        "pycache.zip": {"add": {"pixxel_plugin/__pycache__/x.cpython-311.pyc": b"\0"}},
        "binary.zip": {"add": {"pixxel_plugin/_vendor/x.so": b"\x7fELF"}},
        "two_folders.zip": {"add": {"other/readme.txt": b"x"}},
        "no_metadata.zip": {"drop": "pixxel_plugin/metadata.txt"},
    }
    for name, change in cases.items():
        bad = _rezip(plugin_zip, tmp_path / name, **change)  # type: ignore[arg-type]
        try:
            validate(bad)
        except Refused:
            continue
        raise AssertionError(f"{name} was accepted")
    with zipfile.ZipFile(plugin_zip) as zf:
        text = zf.read("pixxel_plugin/metadata.txt").decode()
    no_email = re.sub(r"(?m)^email=.*\n", "", text)
    bad = tmp_path / "src.zip"
    _rezip(plugin_zip, bad, drop="pixxel_plugin/metadata.txt")
    _rezip(bad, tmp_path / "no_email.zip", add={"pixxel_plugin/metadata.txt": no_email.encode()})
    try:
        validate(tmp_path / "no_email.zip")
    except Refused as exc:
        assert "email" in str(exc)
    else:
        raise AssertionError("a metadata.txt without email was accepted")
