"""Which optional extra provides which third-party module, for "install pixxel-geo[…]" messages."""

from __future__ import annotations

import importlib.util

from pixxel_geo.api.errors import MissingDependencyError

__all__ = ["EXTRA_MODULES", "missing_extra", "require_modules"]

EXTRA_MODULES: dict[str, frozenset[str]] = {
    "io": frozenset({"numpy", "rasterio", "fsspec", "xarray", "rioxarray", "geopandas", "pyogrio", "PIL", "pandas"}),
    "dask": frozenset({"dask", "distributed"}),
    "stores": frozenset({"s3fs", "gcsfs", "adlfs", "aiobotocore", "botocore", "fsspec", "numpy", "rasterio"}),
    "sandbox": frozenset(
        {
            "starlette",
            "uvicorn",
            "numpy",
            "rasterio",
            "boto3",
            "botocore",
            "azure",
            "moto",
            "gcp_storage_emulator",
            "shapely",
        }
    ),
    "widgets": frozenset({"ipywidgets", "ipyleaflet", "ipykernel", "matplotlib"}),
}
"""Top-level module names per extra (as in pyproject.toml's optional-dependencies)."""


def missing_extra(exc: ModuleNotFoundError, what: str, prefer: str = "io") -> MissingDependencyError | None:
    """The error naming the extra to install for ``exc``, or ``None`` if no extra provides that module.

    ``prefer`` is the extra ``what`` belongs to: it is named when it provides the
    missing module (``numpy`` is in several extras).

    Example:
        >>> str(missing_extra(ModuleNotFoundError("No module named 'rasterio'", name="rasterio"), "px.open_raster"))
        "px.open_raster needs the optional 'io' extra (rasterio is not installed): pip install 'pixxel-geo[io]'"
    """
    top = (exc.name or "").split(".")[0]
    if top in EXTRA_MODULES.get(prefer, ()):
        extra = prefer
    else:
        extra = next((name for name, modules in EXTRA_MODULES.items() if top in modules), "")
    if not extra:
        return None
    return MissingDependencyError(
        f"{what} needs the optional {extra!r} extra ({top} is not installed): pip install 'pixxel-geo[{extra}]'"
    )


def require_modules(what: str, extra: str, modules: tuple[str, ...]) -> None:
    """Raise :class:`MissingDependencyError` unless every module can be imported.

    For work done in a child process (the sandbox), whose import error would
    otherwise surface only as the child's log.

    Example:
        >>> require_modules("px.Client", "io", ("json",))
    """
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise MissingDependencyError(
                f"{what} needs the optional {extra!r} extra ({module} is not installed): "
                f"pip install 'pixxel-geo[{extra}]'"
            )
