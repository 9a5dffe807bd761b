"""The spectrum view: pixels' spectral profiles (wavelength vs reflectance), overlaid."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

__all__ = ["SpectrumView", "render_spectra"]


@dataclass(frozen=True)
class PixelSpectrum:
    """One pixel's profile: where it is and its values per band."""

    lon: float
    lat: float
    wavelengths: tuple[float, ...]
    values: tuple[float, ...]
    label: str


def render_spectra(spectra: list[PixelSpectrum], width: float = 6.0, height: float = 3.2) -> bytes:
    """Draw the spectra as one PNG (matplotlib's Agg canvas; no pyplot state, thread-safe).

    Args:
        spectra: the profiles to overlay.
        width, height: figure size in inches.

    Returns:
        PNG bytes.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=96, layout="tight")
    axes = figure.add_subplot()
    for spectrum in spectra:
        axes.plot(spectrum.wavelengths, spectrum.values, marker=".", linewidth=1.2, label=spectrum.label)
    axes.set_xlabel("wavelength (nm)")
    axes.set_ylabel("reflectance")
    axes.grid(alpha=0.3)
    if spectra:
        axes.legend(fontsize=8, loc="best")
    else:
        axes.text(0.5, 0.5, "Click a pixel of an opened scene", ha="center", va="center", transform=axes.transAxes)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


class SpectrumView(widgets.VBox):
    """A plot of the clicked pixels' spectra; several overlay, Clear removes them.

    Example:
        >>> view = SpectrumView()
        >>> view.add(75.35, 13.95, [450.0, 550.0, 650.0], [0.05, 0.08, 0.06])
        >>> len(view.spectra)
        1
    """

    def __init__(self) -> None:
        self.spectra: list[PixelSpectrum] = []
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="576px"))
        self.image.add_class("pixxel-spectrum-plot")
        self.clear_button = widgets.Button(description="Clear", icon="trash")
        self.clear_button.add_class("pixxel-spectrum-clear")
        self.caption = widgets.Label("No pixel yet: Open a scene, then click it on the map.")
        self.caption.add_class("pixxel-spectrum-caption")
        super().__init__([widgets.HBox([self.clear_button, self.caption]), self.image])
        self.add_class("pixxel-spectrum-view")
        self.clear_button.on_click(lambda _: self.clear())
        self._redraw()

    def add(self, lon: float, lat: float, wavelengths: Any, values: Any, label: str | None = None) -> None:
        """Overlay one pixel's profile.

        Args:
            lon, lat: where the pixel is (degrees).
            wavelengths: band centres in nm.
            values: reflectance per band (same length).
            label: legend text (default: the coordinates).

        Raises:
            ValueError: the two sequences differ in length.
        """
        wl = tuple(float(w) for w in wavelengths)
        vals = tuple(float(v) for v in values)
        if len(wl) != len(vals):
            raise ValueError(f"{len(wl)} wavelengths but {len(vals)} values: they must match.")
        self.spectra.append(PixelSpectrum(lon, lat, wl, vals, label or f"{lat:.5f}, {lon:.5f}"))
        self._redraw()

    def clear(self) -> None:
        """Remove every profile."""
        self.spectra = []
        self._redraw()

    def _redraw(self) -> None:
        self.image.value = render_spectra(self.spectra)
        count = len(self.spectra)
        self.caption.value = f"{count} pixel(s)" if count else "No pixel yet: Open a scene, then click it on the map."
