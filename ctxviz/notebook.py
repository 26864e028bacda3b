"""Jupyter display of a simulation: a compact HTML summary, and the numbers it is made of.

``simulation_html(sim)`` is what a ``Simulation`` shows as the last value of a notebook cell
(``Simulation._repr_html_``). ``ctxviz.summary.summarize(sim)`` computes the numbers it shows
(the command line and the figures read the same ones; re-exported here), so they never disagree.
Every string that may come from a transcript (model ids, warnings, event details) is escaped; the
page is self-contained (inline styles, an inline SVG sparkline: no script, no network).
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import os
from collections.abc import Mapping
from typing import Any, Final
from warnings import catch_warnings, filterwarnings, warn

from ctxviz.policies import compact_on_demand, preserved_thinking
from ctxviz.policies.compaction_control import CompactionControl
from ctxviz.settings import SimulationSettings
from ctxviz.summary import (
    EventCount,
    SettingsLike,
    SimulationLike,
    SimulationSummary,
    summarize,
)

__all__ = [
    "EventCount",
    "SimulationLike",
    "SimulationSummary",
    "figure_png",
    "plotly_fallback",
    "policy_description",
    "simulation_html",
    "source_sentence",
    "static_bundle",
    "summarize",
]

MAX_WARNINGS_SHOWN: Final = 20
"""The HTML lists at most this many warnings (and says how many more there are)."""

HTML_FALLBACK_RENDERER: Final = "notebook_connected"
"""Plotly's renderer of a figure as HTML (plotly.js from its CDN), where no PNG can be made."""
STATIC_RENDERER: Final = "ctxviz_static"
"""The renderer added to plotly's Jupyter default: a PNG, else HTML (``static_bundle``)."""
IMAGE_WIDTH_PX: Final = 1000
"""Width of a figure's PNG (its height is the figure's own)."""

_SPARK_WIDTH: Final = 360
_SPARK_HEIGHT: Final = 60


def _as_given(settings: SettingsLike) -> Mapping[str, Any]:
    """The settings by ``simulate``'s argument names (a mapping of them is read as it is)."""
    if not isinstance(settings, SimulationSettings):
        return settings if settings is not None else {}
    return {
        "model": settings.model,
        "context_window": settings.context_window,
        "context_management": settings.context_management,
        "compaction_control": settings.compaction_control,
        "summary_tokens": settings.summary_tokens,
        "claude_code_autocompact": settings.claude_code_autocompact,
        "rolling_window": settings.rolling_window,
        "thinking_preservation": settings.thinking_preservation,
        "compact_at": settings.compact_at,
        "compaction": settings.compaction_on_demand,
        "thinking_prefix_mismatch": (
            None
            if settings.thinking_prefix_mismatch == preserved_thinking.DEFAULT_BEHAVIOUR
            else settings.thinking_prefix_mismatch
        ),
        "undo_recorded_compactions": settings.undo_recorded_compactions,
    }


def _compaction_control(cc: Any) -> tuple[Any, Any]:
    """``compaction_control`` as its config or the SDK's dict: enabled, threshold."""
    if isinstance(cc, CompactionControl):
        return cc.enabled, cc.context_token_threshold
    if isinstance(cc, Mapping):
        return cc.get("enabled"), cc.get("context_token_threshold")
    return None, None


def source_sentence(summary: SimulationSummary) -> str:
    """One sentence saying which numbers are recorded and which are estimated."""
    rec, est = summary.recorded_requests, summary.estimated_requests
    if summary.requests == 0:
        return "No requests."
    if est == 0:
        return (
            f"All {rec:,} requests: recorded usage from the transcript "
            "(costs priced from it with the model table)."
        )
    if rec == 0:
        return f"All {est:,} requests estimated (offline token counts; no recorded usage applies)."
    return (
        f"{rec:,} requests recorded (the transcript's usage), {est:,} estimated "
        "(changed by the policy, or without recorded usage)."
    )


def policy_description(settings: SettingsLike) -> str:
    """The replay's settings in one line: "as recorded" or the policies it applied."""
    parts: list[str] = []
    given = _as_given(settings)
    model = given.get("model")
    if model:
        parts.append(f"model {model}")
    window = given.get("context_window")
    if window:
        parts.append(f"window {int(window):,}")
    cm = given.get("context_management")
    if cm is not None:
        if isinstance(cm, str):
            with contextlib.suppress(ValueError):  # not JSON: shown as it is
                cm = json.loads(cm)
        edits = cm.get("edits") if isinstance(cm, Mapping) else None
        if isinstance(edits, list):
            kinds = [str(e.get("type")) for e in edits if isinstance(e, Mapping)]
            parts.append("context_management: " + (", ".join(kinds) if kinds else "no edits"))
        else:
            parts.append(f"context_management: {cm}")
    cc = given.get("compaction_control")
    enabled, threshold = _compaction_control(cc)
    if cc is not None and enabled is not False:
        parts.append(
            "compaction_control"
            + (f" at {int(threshold):,} tokens" if isinstance(threshold, int) else "")
        )
    summary_tokens = given.get("summary_tokens")
    if summary_tokens is not None:
        parts.append(f"summaries of {int(summary_tokens):,} tokens")
    auto = given.get("claude_code_autocompact")
    if auto is not None:
        parts.append("Claude Code auto-compact")
    rolling = given.get("rolling_window")
    if rolling is not None:
        parts.append("rolling window")
    keep = given.get("thinking_preservation")
    if keep is not None:
        parts.append("earlier thinking kept" if keep else "earlier thinking stripped")
    at = given.get("compact_at")
    if at:
        parts.append("compaction at request " + ", ".join(str(r) for r in at))
    on_demand = given.get("compaction")
    if isinstance(on_demand, Mapping):
        with contextlib.suppress(TypeError, ValueError):
            on_demand = compact_on_demand.CompactOnDemand(**on_demand)
    if isinstance(on_demand, compact_on_demand.CompactOnDemand):
        parts.append(on_demand.describe())
    mismatch = given.get("thinking_prefix_mismatch")
    if mismatch:
        parts.append(f"invalid preserved thinking: {mismatch}")
    if given.get("undo_recorded_compactions"):
        parts.append("recorded compactions undone")
    return "; ".join(parts) if parts else "as recorded"


# ---- HTML --------------------------------------------------------------------------------------


def _fmt_usd(value: float | None) -> str:
    if value is None:
        return "—"
    return f"${value:,.4f}" if value < 100 else f"${value:,.2f}"


def _sparkline(sim: SimulationLike, window: int | None) -> str:
    """An inline SVG of the prompt per request, with the window as a red line when it fits."""
    import pandas as pd

    req = sim.requests
    prompt = pd.to_numeric(req["input_tokens"], errors="coerce") if "input_tokens" in req else None
    if prompt is None or len(prompt) < 2 or not prompt.notna().any():
        return ""
    values = prompt.fillna(0).astype(float).tolist()
    top = max(max(values), 1.0)
    if window and window <= top * 1.5:
        top = max(top, float(window))
    w, h = _SPARK_WIDTH, _SPARK_HEIGHT
    step = w / (len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{h - v / top * (h - 2) - 1:.1f}" for i, v in enumerate(values)
    )
    window_line = ""
    if window and window <= top:
        y = h - window / top * (h - 2) - 1
        window_line = (
            f'<line x1="0" x2="{w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#CC3311" '
            'stroke-dasharray="4 3" stroke-width="1"/>'
        )
    return (
        f'<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="prompt tokens per request" style="display:block;margin:4px 0">'
        f"<title>prompt tokens per request (max {int(max(values)):,})</title>"
        f'{window_line}<polyline fill="none" stroke="#0077BB" stroke-width="1.5" '
        f'points="{points}"/></svg>'
    )


def _row(label: str, value_html: str) -> str:
    return (
        '<tr><th style="text-align:left;padding:2px 12px 2px 0;font-weight:600;'
        f'vertical-align:top;white-space:nowrap">{html.escape(label)}</th>'
        f'<td style="text-align:left;padding:2px 0">{value_html}</td></tr>'
    )


def simulation_html(sim: SimulationLike) -> str:
    """A compact HTML summary of a replay, for Jupyter's ``_repr_html_`` (all text escaped)."""
    s = summarize(sim)
    esc = html.escape
    settings = getattr(sim, "settings", None)
    conv = getattr(sim, "conversation", None)
    title = getattr(conv, "title", None) or getattr(conv, "source", None)
    fmt = getattr(conv, "format", None)

    head = "<strong>ctxviz Simulation</strong>"
    if title:
        head += f" · {esc(str(title))}"
    if fmt:
        head += f" <span style='opacity:.7'>({esc(str(fmt))})</span>"

    rows = [
        _row("policy", esc(policy_description(settings))),
        _row("model", esc(s.model or "unknown")),
        _row(
            "requests",
            f"{s.requests:,} ({s.recorded_requests:,} recorded, "
            f"{s.estimated_requests:,} estimated)",
        ),
    ]
    if s.peak_input_tokens is not None:
        peak = f"{s.peak_input_tokens:,} tokens at request {s.peak_request}"
        fraction = s.peak_window_fraction
        if fraction is not None and s.context_window:
            peak += f" ({fraction:.1%} of the {s.context_window:,}-token window)"
        rows.append(_row("peak prompt", esc(peak)))
    if s.over_window_requests or s.first_over_window is not None:
        rows.append(
            _row(
                "over the window",
                esc(f"{s.over_window_requests:,} requests, first at request {s.first_over_window}"),
            )
        )
    if s.events:
        items = "; ".join(
            f"{c.count:,} × <code>{esc(c.type)}</code>"
            + (f" (first at request {c.first_request})" if c.first_request is not None else "")
            for c in s.events
        )
        rows.append(_row("events", items))
    else:
        rows.append(_row("events", "none"))
    if s.cleared_input_tokens:
        rows.append(_row("cleared", esc(f"{s.cleared_input_tokens:,} prompt tokens in total")))
    if s.total_cost_usd is not None:
        cost = _fmt_usd(s.total_cost_usd)
        if s.estimated_requests and s.recorded_requests and s.estimated_cost_usd is not None:
            cost += f" (of which {_fmt_usd(s.estimated_cost_usd)} on estimated requests)"
        rows.append(_row("cost", esc(cost)))
    rows.append(_row("numbers", esc(source_sentence(s))))

    parts = [
        '<div class="ctxviz-simulation" style="font-family:system-ui,sans-serif;'
        'font-size:13px;line-height:1.4">',
        f"<div>{head}</div>",
        _sparkline(sim, s.context_window),
        '<table style="border-collapse:collapse;margin:0">',
        *rows,
        "</table>",
    ]
    warnings = list(sim.warnings)
    if warnings:
        shown = warnings[:MAX_WARNINGS_SHOWN]
        items = "".join(f"<li>{esc(str(w))}</li>" for w in shown)
        more = len(warnings) - len(shown)
        if more:
            items += f"<li>… and {more:,} more (see <code>.warnings</code>)</li>"
        parts.append(
            f"<details><summary>{len(warnings):,} warning"
            f"{'' if len(warnings) == 1 else 's'}</summary>"
            f'<ul style="margin:2px 0">{items}</ul></details>'
        )
    parts.append("</div>")
    return "".join(parts)


def figure_png(fig: Any) -> str | None:
    """A plotly figure (or its dict) as a base64 PNG, ``IMAGE_WIDTH_PX`` wide: what a saved
    notebook shows where no JavaScript runs (GitHub's preview). Made by kaleido 1.x with the
    Chromium-based browser it finds (``BROWSER_PATH``, else Chromium or Chrome on ``PATH``);
    None when kaleido or a browser is missing, or the export fails (with a warning saying why).
    The first image starts kaleido's browser once for the kernel (a few seconds); each later one
    takes a fraction of a second."""
    global _image_server_started
    try:
        import kaleido
        from choreographer.browsers.chromium import Chromium
    except ImportError:
        return None
    if Chromium.find_browser(skip_local=False) is None:
        return None
    import plotly.io as pio

    try:
        if not _image_server_started:
            kaleido.start_sync_server(silence_warnings=True)
            _image_server_started = True
        with catch_warnings():  # plotly always passes kaleido options its server ignores
            filterwarnings("ignore", message="The kopts argument is ignored")
            png = pio.to_image(fig, format="png", width=IMAGE_WIDTH_PX, validate=False)
    except Exception as err:  # the HTML fallback is shown instead: say why, never fail a cell
        warn(f"ctxviz: no static image of the figure ({err})", stacklevel=2)
        return None
    return base64.b64encode(png).decode("ascii")


_image_server_started = False


def static_bundle(fig_dict: Mapping[str, Any]) -> dict[str, Any]:
    """What a saved notebook shows of a figure: its PNG (``figure_png``) where one can be made,
    else plotly's ``notebook_connected`` HTML (plotly.js from its CDN: nbconvert and nbviewer
    draw it, GitHub does not). Never both: a reader shows HTML before an image, and GitHub's
    preview would show the HTML, blank without JavaScript, instead of the PNG."""
    png = figure_png(fig_dict)
    if png is not None:
        return {"image/png": png}
    import plotly.io as pio

    return dict(pio.renderers[HTML_FALLBACK_RENDERER].to_mimebundle(fig_dict))


def plotly_fallback() -> str | None:
    """In a Jupyter kernel, make plotly figures carry a copy that a saved notebook shows.

    Plotly 6 and later display a figure in Jupyter as its JSON only
    (``application/vnd.plotly.v1+json``), which JupyterLab, Notebook 7 and VS Code draw, but
    which nbconvert, nbviewer and GitHub drop. This registers ``STATIC_RENDERER`` (a PNG, else
    HTML: ``static_bundle``) and adds it to plotly's Jupyter renderer
    (``plotly_mimetype+ctxviz_static``). Done on ``import ctxviz`` in a kernel, and only when
    plotly chose its default itself: a ``PLOTLY_RENDERER`` variable or a renderer set before is
    kept. Returns the renderer now in use, or None where nothing was changed.
    """
    if os.environ.get("PLOTLY_RENDERER"):
        return None
    import plotly.io as pio
    from plotly.io.base_renderers import MimetypeRenderer

    class StaticRenderer(MimetypeRenderer):  # type: ignore[misc]  # plotly has no type information
        def to_mimebundle(self, fig_dict: Mapping[str, Any]) -> dict[str, Any]:
            return static_bundle(fig_dict)

    default = pio.renderers.default
    if default not in ("plotly_mimetype", "vscode"):  # plotly's choices in a Jupyter kernel
        return None
    pio.renderers[STATIC_RENDERER] = StaticRenderer()
    pio.renderers.default = f"{default}+{STATIC_RENDERER}"
    return str(pio.renderers.default)
