"""Files the tests need, vendored so a plain clone runs its tests (see README.md here)."""

from pathlib import Path

OPENAPI_PATH = Path(__file__).with_name("pixxel-openapi.json")
"""Pixxel's published OpenAPI 3.0 document: the contract for the client and the sandbox."""
