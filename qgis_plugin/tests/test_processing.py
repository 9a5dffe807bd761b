"""The Processing provider: each algorithm run with ``processing.run`` in QGIS offscreen."""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qgis.core import QgsApplication, QgsProcessingFeedback, QgsProject, QgsVectorLayer

QGIS_PLUGINS = "/usr/share/qgis/python/plugins"  # Debian's QGIS: where the processing plugin lives
WORLD = "-180,180,-90,90 [EPSG:4326]"


@pytest.fixture
def processing(dock: Any) -> Iterator[Any]:
    """QGIS's processing framework, initialised, with the loaded plugin's provider in it."""
    if QGIS_PLUGINS not in sys.path:
        sys.path.append(QGIS_PLUGINS)
    from processing.core.Processing import Processing

    Processing.initialize()
    import processing as module

    assert QgsApplication.processingRegistry().providerById("pixxel") is not None
    yield module


def test_provider_lists_the_four_algorithms(processing: Any) -> None:
    ids = sorted(a.id() for a in QgsApplication.processingRegistry().providerById("pixxel").algorithms())
    assert ids == ["pixxel:addstreamedlayer", "pixxel:delivercatalogs", "pixxel:downloadcatalogs",
                   "pixxel:searchcatalogs"]  # fmt: skip


def test_search_gives_a_footprints_layer(processing: Any, sandbox: Any) -> None:
    everything = processing.run("pixxel:searchcatalogs", {"EXTENT": WORLD, "OUTPUT": "memory:"})["OUTPUT"]
    assert isinstance(everything, QgsVectorLayer) and everything.featureCount() == len(sandbox.info()["catalog_ids"])
    clear = processing.run("pixxel:searchcatalogs", {"EXTENT": WORLD, "MAX_CLOUD": 10.0, "OUTPUT": "memory:"})["OUTPUT"]
    covers = [f["cloud_cover"] for f in clear.getFeatures()]
    assert clear.featureCount() < everything.featureCount() and all(c <= 10.0 for c in covers)
    assert all(f.geometry().isGeosValid() for f in everything.getFeatures())


def test_add_streamed_layer(processing: Any, sandbox: Any) -> None:
    catalog_id = sandbox.info()["catalog_ids"][0]
    result = processing.runAndLoadResults("pixxel:addstreamedlayer", {"CATALOG_ID": catalog_id})
    layer = QgsProject.instance().mapLayer(result["OUTPUT"])
    assert layer is not None and layer.isValid()
    assert layer.customProperty("pixxel/catalog_id") == catalog_id
    assert layer.source().startswith("/vsicurl/http://127.0.0.1:") and "Signature" not in layer.source()


def test_download_to_a_folder(processing: Any, sandbox: Any, tmp_path: Path) -> None:
    ids = sandbox.info()["catalog_ids"][:2]
    feedback = QgsProcessingFeedback()
    progress: list[float] = []
    feedback.progressChanged.connect(progress.append)
    files = processing.run(
        "pixxel:downloadcatalogs", {"CATALOG_IDS": ",".join(ids), "FOLDER": str(tmp_path)}, feedback=feedback
    )["FILES"].split(";")
    assert [Path(f).name for f in files] == [f"pixxel-{i}.zip" for i in ids]
    for file in files:
        with zipfile.ZipFile(file) as zf:
            assert zf.testzip() is None
    assert progress and max(progress) <= 100.0


def test_deliver_and_wait(processing: Any, sandbox: Any) -> None:
    store = sandbox.call("POST", "/v0/stores", {
        "name": "qgis-processing", "type": "S3", "configs": {"bucket": "qgis-processing", "region": "us-east-1"},
        "secrets": {"access_key_id": "AKIATEST", "secret_access_key": "secret"},
    })  # fmt: skip
    ids = sandbox.info()["catalog_ids"][:2]
    result = processing.run("pixxel:delivercatalogs", {"CATALOG_IDS": ",".join(ids), "STORE_ID": store["id"]})
    assert result["STATUSES"].split(";") == ["SUCCESS", "SUCCESS"]
    assert len(result["DELIVERY_IDS"].split(";")) == 2


def test_errors_are_clear(processing: Any) -> None:
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="catalog id"):
        processing.run("pixxel:downloadcatalogs", {"CATALOG_IDS": " , ", "FOLDER": "/tmp"})
