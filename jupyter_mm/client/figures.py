"""Serialising figures for ``mm.log_figure``: plotly to HTML/JSON, matplotlib to PNG/SVG/PDF."""

from __future__ import annotations

import io
from typing import Any

from ..errors import InvalidInput

_MPL_FORMATS = {".png": "image/png", ".svg": "image/svg+xml", ".pdf": "application/pdf"}


def figure_bytes(fig: Any, name: str) -> tuple[bytes, str]:
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    module = type(fig).__module__
    if module.startswith("plotly"):
        if suffix == ".json":
            return fig.to_json().encode(), "application/json"
        if suffix in ("", ".html", ".htm"):
            # self-contained but small: plotly.js is loaded by the viewer, not embedded per figure
            html = fig.to_html(include_plotlyjs="cdn", full_html=True)
            return html.encode(), "text/html"
        raise InvalidInput(f"plotly figures are stored as .html or .json, not {suffix!r}")
    if module.startswith("matplotlib"):
        fmt = suffix or ".png"
        if fmt not in _MPL_FORMATS:
            raise InvalidInput(f"matplotlib figures are stored as .png, .svg or .pdf, not {fmt!r}")
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt[1:], bbox_inches="tight")
        return buf.getvalue(), _MPL_FORMATS[fmt]
    raise InvalidInput(f"log_figure takes a plotly or matplotlib figure, got {type(fig).__name__}")
