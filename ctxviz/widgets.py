"""Jupyter sliders: the app's Context editing and Compaction controls, over one conversation.

``ctxviz.explore(conv)`` returns a widget (ipywidgets, the optional ``notebook`` extra) with two
tabs that mirror the app's pages: every option of ``clear_tool_uses_20250919`` and
``clear_thinking_20251015``; compaction as recorded, by the server (``compact_20260112``), by the
SDK (``compaction_control``) or by Claude Code's auto-compact. A change replays the conversation
and redraws, in place, the page's figure (``ctxviz.figures``), its summary and the configuration
to paste into code (``ctxviz.snippets``). Each tab opens on the recording where the app's page
does: compaction as recorded, one click from a what-if.

It works wherever ipywidgets renders: JupyterLab, Notebook 7 and VS Code. The figure goes through
an ``Output`` widget with plotly's JSON and an HTML fallback, so a saved notebook with its widget
state shows it too; the explorer's own display also carries a PNG of its figure
(``ctxviz.notebook.figure_png``), which readers that draw no widget show (GitHub).
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import plotly.graph_objects as go
import plotly.io as pio

from ctxviz import figures, snippets
from ctxviz.model import Conversation
from ctxviz.notebook import HTML_FALLBACK_RENDERER, figure_png, simulation_html
from ctxviz.policies import (
    claude_code,
    clear_thinking,
    clear_tool_uses,
    compact,
    compaction_control,
)
from ctxviz.simulator import Simulation, simulate

if TYPE_CHECKING:
    from ctxviz.policies.edits import ContextManagementParam, EditParam

try:
    import ipywidgets as w
except ImportError as err:  # pragma: no cover - the message is the point
    raise ImportError("ctxviz.explore needs ipywidgets: pip install 'ctxviz[notebook]'") from err

__all__ = ["CompactionPanel", "EditingPanel", "Explorer", "explore", "figure_bundle"]

DEFAULT_WINDOW_TOKENS: Final = 200_000
COMPACTION_MODES: Final = {
    "recorded": "As recorded",
    "server": "Server: compact_20260112",
    "sdk": "SDK: compaction_control",
    "claude_code": "Claude Code auto-compact",
}
SDK_TOTALS: Final = {
    "sdk": "As the SDK adds it up (server-tool reads inflate it)",
    "context": "The real context (what the fix would use)",
}
_WIDE: Final = {"width": "98%"}
_HALF: Final = {"width": "60%"}
"""A box beside another: without a width of its own, the sliders in it (98% of nothing) lose
their track in JupyterLab."""
_STYLE: Final = {"description_width": "initial"}


def figure_bundle(fig: go.Figure) -> dict[str, Any]:
    """A redrawn figure's display data: plotly's JSON for JupyterLab, Notebook and VS Code, and
    an HTML page part (plotly.js from its CDN) for nbconvert and other viewers of a saved
    notebook with its widget state. No PNG: a slider must not wait for an image (the explorer's
    own display carries one, ``Explorer._repr_mimebundle_``)."""
    fig_dict = fig.to_dict()
    bundle: dict[str, Any] = {"text/plain": f"<plotly figure: {fig.layout.title.text or ''}>"}
    for renderer in ("plotly_mimetype", HTML_FALLBACK_RENDERER):
        bundle.update(pio.renderers[renderer].to_mimebundle(fig_dict))
    return bundle


def _table_bundle(frame: Any) -> dict[str, Any]:
    return {
        "text/html": frame.to_html(index=False, na_rep=""),
        "text/plain": frame.to_string(index=False),
    }


def _slider(description: str, value: int, low: int, high: int, step: int = 1) -> Any:
    return w.IntSlider(
        value=min(max(value, low), high),
        min=low,
        max=high,
        step=step,
        description=description,
        continuous_update=False,  # replay once the slider is released
        style=_STYLE,
        layout=_WIDE,
    )


def _pre(text: str) -> str:
    return f"<pre style='white-space:pre-wrap;margin:0'>{html.escape(text)}</pre>"


class _Panel:
    """One page: controls, then the summary, the figure, and the configuration to export.

    ``sim``, ``figure`` and ``exports`` (title -> text) are the latest replay's; ``error`` is
    the message of a configuration the API would reject (None when the replay ran).
    """

    title = ""

    def __init__(self, conv: Conversation, base: Mapping[str, Any], window_tokens: int) -> None:
        self.conv = conv
        self.base = dict(base)
        self.window_tokens = window_tokens
        self.sim: Simulation | None = None
        self.figure: go.Figure | None = None
        self.exports: dict[str, str] = {}
        self.error: str | None = None
        self.summary = w.HTML()
        self.output = w.Output()
        self.export_box = w.VBox()
        self.controls: dict[str, Any] = {}
        self.widget = w.VBox()

    def _watch(self, controls: Mapping[str, Any], callback: Callable[[Any], None]) -> None:
        self.controls.update(controls)
        for control in controls.values():
            control.observe(callback, names="value")

    # what a panel defines
    def kwargs(self) -> dict[str, Any]:
        raise NotImplementedError

    def draw(self, sim: Simulation) -> list[dict[str, Any]]:
        raise NotImplementedError

    def export_texts(self, kwargs: Mapping[str, Any]) -> dict[str, str]:
        raise NotImplementedError

    def _sync(self) -> None:
        """Enable the controls that apply to the current choices."""

    def _sdk_call(
        self, context_management: Any = None, compaction_control: Any = None
    ) -> dict[str, str]:
        model = self.base.get("model") or self.conv.model
        if not model:
            return {"Python SDK call": "No SDK call: the transcript names no model."}
        thinking = next(
            (r.thinking for r in reversed(self.conv.requests) if isinstance(r.thinking, Mapping)),
            None,
        )
        try:
            program = snippets.python_sdk_call(
                model,
                context_management=context_management,
                compaction_control=compaction_control,
                thinking=thinking,
            )
        except ValueError as err:
            program = f"No SDK call for this policy: {err}"
        return {"Python SDK call": program}

    def update(self, _change: Any = None) -> None:
        """Replay with the controls' values and redraw everything in place."""
        self._sync()
        kwargs = self.kwargs()
        try:
            sim = simulate(self.conv, **self.base, **kwargs)
        except ValueError as err:  # a policy the API would reject: say so, keep the last figure
            self.error = str(err)
            self.summary.value = (
                f"<p style='color:#b00020'><b>The API would reject this:</b> "
                f"{html.escape(self.error)}</p>"
            )
            return
        self.error = None
        self.sim = sim
        self.summary.value = simulation_html(sim)
        outputs = self.draw(sim)
        self.output.outputs = tuple(
            {"output_type": "display_data", "data": data, "metadata": {}} for data in outputs
        )
        self.exports = self.export_texts(kwargs)
        self.export_box.children = tuple(
            w.VBox(
                [
                    w.HTML(f"<b>{html.escape(title)}</b>"),
                    w.Textarea(
                        value=text,
                        rows=min(text.count("\n") + 2, 30),
                        layout=_WIDE,
                    ),
                ]
            )
            for title, text in self.exports.items()
        )


class EditingPanel(_Panel):
    """The Context editing page: ``clear_tool_uses_20250919`` and ``clear_thinking_20251015``."""

    title = "Context editing"

    def __init__(self, conv: Conversation, base: Mapping[str, Any], window_tokens: int) -> None:
        super().__init__(conv, base, window_tokens)
        thinking = conv.thinking_enabled
        controls = {
            "clear_tools": w.Checkbox(value=True, description="Clear old tool results"),
            "trigger_type": w.RadioButtons(
                options=["input_tokens", "tool_uses"], value="input_tokens", description="trigger"
            ),
            "trigger_tokens": _slider(
                "trigger.value (input tokens)",
                100_000,
                5_000,
                max(window_tokens, 10_000),
                5_000,
            ),
            "trigger_uses": _slider("trigger.value (tool uses)", 10, 1, 200),
            "keep": _slider("keep (tool uses)", 3, 1, 50),
            "clear_at_least": w.BoundedIntText(
                value=0,
                min=0,
                max=10_000_000,
                step=1_000,
                description="clear_at_least (input tokens, 0: none)",
                style=_STYLE,
            ),
            "exclude_tools": w.SelectMultiple(
                options=list(conv.tool_names), value=(), description="exclude_tools"
            ),
            "clear_tool_inputs": w.Checkbox(value=False, description="clear_tool_inputs"),
            "clear_thinking": w.Checkbox(
                value=False,
                description="Clear old thinking"
                if thinking
                else "Clear old thinking (no extended thinking in this transcript)",
                disabled=not thinking,
                style=_STYLE,
            ),
            "thinking_keep": _slider("keep: thinking_turns", 1, 1, 20),
        }
        self._watch(controls, self.update)
        self.request = _slider("Request", 0, 0, max(len(conv.requests) - 1, 0))
        self.request.observe(self._show_applied_edits, names="value")
        self.applied_edits = w.HTML()
        c = self.controls
        self.widget.children = (
            w.HTML("<h4>clear_tool_uses_20250919</h4>"),
            c["clear_tools"],
            w.HBox(
                [c["trigger_type"], w.VBox([c["trigger_tokens"], c["trigger_uses"]], layout=_HALF)]
            ),
            c["keep"],
            c["clear_at_least"],
            w.HBox([c["exclude_tools"], c["clear_tool_inputs"]]),
            w.HTML("<h4>clear_thinking_20251015</h4>"),
            w.HBox([c["clear_thinking"], c["thinking_keep"]]),
            self.summary,
            self.output,
            w.HTML("<h4>applied_edits</h4>"),
            self.request,
            self.applied_edits,
            w.HTML("<h4>Export</h4>"),
            self.export_box,
        )
        self.update()

    def _sync(self) -> None:
        c = self.controls
        off = not c["clear_tools"].value
        for name in ("trigger_type", "keep", "clear_at_least", "exclude_tools"):
            c[name].disabled = off
        c["clear_tool_inputs"].disabled = off
        by_tokens = c["trigger_type"].value == "input_tokens"
        c["trigger_tokens"].disabled = off or not by_tokens
        c["trigger_uses"].disabled = off or by_tokens
        c["trigger_tokens"].layout.display = None if by_tokens else "none"
        c["trigger_uses"].layout.display = "none" if by_tokens else None
        c["thinking_keep"].disabled = not c["clear_thinking"].value

    def context_management(self) -> ContextManagementParam | None:
        """The ``context_management`` object the controls describe (None: no edit)."""
        c = self.controls
        edits: list[EditParam] = []
        if c["clear_thinking"].value and self.conv.thinking_enabled:
            keep = clear_thinking.ClearThinking(keep_turns=c["thinking_keep"].value)
            edits.append(keep.to_api())
        if c["clear_tools"].value:
            by_tokens = c["trigger_type"].value == "input_tokens"
            config = clear_tool_uses.ClearToolUses(
                trigger=clear_tool_uses.Trigger(
                    type="input_tokens" if by_tokens else "tool_uses",
                    value=c["trigger_tokens" if by_tokens else "trigger_uses"].value,
                ),
                keep=c["keep"].value,
                clear_at_least_tokens=c["clear_at_least"].value or None,
                exclude_tools=tuple(c["exclude_tools"].value),
                clear_tool_inputs=bool(c["clear_tool_inputs"].value),
            )
            edits.append(config.to_api())
        return {"edits": edits} if edits else None

    def kwargs(self) -> dict[str, Any]:
        return {"context_management": self.context_management()}

    def draw(self, sim: Simulation) -> list[dict[str, Any]]:
        self.figure = figures.context_editing(sim)
        table = figures.applied_edits_table(sim)
        last = max(len(sim.requests) - 1, 0)
        self.request.max = last
        self.request.value = int(table["request"].max()) if len(table) else last
        self._show_applied_edits()
        return [figure_bundle(self.figure)]

    def _show_applied_edits(self, _change: Any = None) -> None:
        i = self.request.value
        if self.sim is None or i >= len(self.sim.requests):
            self.applied_edits.value = ""
            return
        self.applied_edits.value = (
            f"What the API returns in context_management.applied_edits for request {i}:"
            + _pre(json.dumps(self.sim.applied_edits(i), indent=2))
        )

    def export_texts(self, kwargs: Mapping[str, Any]) -> dict[str, str]:
        cm = kwargs["context_management"]
        if cm is None:
            return {"context_management": "No edit selected: the replay is as recorded."}
        return {
            "context_management": snippets.context_management_json(cm),
            **self._sdk_call(context_management=cm),
        }


class CompactionPanel(_Panel):
    """The Compaction page: as recorded, ``compact_20260112``, ``compaction_control`` or Claude
    Code's auto-compact, with the summary size and the recorded compactions undone or kept."""

    title = "Compaction"

    def __init__(self, conv: Conversation, base: Mapping[str, Any], window_tokens: int) -> None:
        super().__init__(conv, base, window_tokens)
        recorded = bool(conv.compactions)
        self._auto_window_default = min(
            max(window_tokens, claude_code.MIN_WINDOW_TOKENS), claude_code.MAX_WINDOW_TOKENS
        )
        controls = {
            "mode": w.RadioButtons(
                options=[(label, key) for key, label in COMPACTION_MODES.items()],
                value="recorded",
                description="Compaction",
            ),
            "trigger": _slider(
                "trigger (input tokens)",
                150_000,
                50_000,
                max(window_tokens, 60_000),
                5_000,
            ),
            "pause": w.Checkbox(value=False, description="pause_after_compaction"),
            "threshold": _slider(
                "context_token_threshold",
                100_000,
                5_000,
                max(window_tokens, 10_000),
                5_000,
            ),
            "totals": w.Dropdown(
                options=[(label, key) for key, label in SDK_TOTALS.items()],
                value="sdk",
                description="Server-tool pitfall: the total compared",
                style=_STYLE,
            ),
            # Claude Code's own settings, as on the app's Compaction page; at their defaults
            # nothing is passed
            "pct": _slider(claude_code.PCT_OVERRIDE + " (%)", 100, 10, 100),
            "auto_window": _slider(
                claude_code.WINDOW_SETTING + " (tokens)",
                self._auto_window_default,
                claude_code.MIN_WINDOW_TOKENS,
                claude_code.MAX_WINDOW_TOKENS,
                10_000,
            ),
            "disable": w.Checkbox(value=False, description=claude_code.DISABLE),
            "summary_tokens": w.BoundedIntText(
                value=0,
                min=0,
                max=1_000_000,
                step=500,
                description="Summary size (tokens; 0: observed, else 3,000)",
                style=_STYLE,
            ),
            "undo": w.Checkbox(
                value=recorded,
                description="Undo the recorded compactions",
                disabled=not recorded,
                style=_STYLE,
            ),
        }
        self._watch(controls, self.update)
        self._baseline: Simulation | None = None
        c = self.controls
        self.widget.children = (
            c["mode"],
            w.HBox(
                [
                    w.VBox(
                        [
                            c["trigger"],
                            c["pause"],
                            c["threshold"],
                            c["totals"],
                            c["pct"],
                            c["auto_window"],
                            c["disable"],
                        ],
                        layout=_HALF,
                    ),
                    w.VBox([c["summary_tokens"], c["undo"]], layout=_HALF),
                ]
            ),
            self.summary,
            self.output,
            w.HTML("<h4>Export</h4>"),
            self.export_box,
        )
        self.update()

    def _sync(self) -> None:
        c = self.controls
        mode = c["mode"].value
        shown: tuple[str, ...] = {
            "server": ("trigger", "pause"),
            "sdk": ("threshold", "totals"),
            "claude_code": ("pct", "auto_window", "disable"),
        }.get(mode, ())
        for name in ("trigger", "pause", "threshold", "totals", "pct", "auto_window", "disable"):
            c[name].layout.display = None if name in shown else "none"
        c["summary_tokens"].disabled = mode == "recorded"
        c["undo"].disabled = mode == "recorded" or not self.conv.compactions

    def kwargs(self) -> dict[str, Any]:
        c = self.controls
        mode = c["mode"].value
        if mode == "recorded":
            return {}
        kw: dict[str, Any] = {
            "summary_tokens": c["summary_tokens"].value or None,
            "undo_recorded_compactions": bool(c["undo"].value and self.conv.compactions),
        }
        if mode == "server":
            edit = compact.Compact(
                trigger=c["trigger"].value, pause_after_compaction=bool(c["pause"].value)
            )
            kw["context_management"] = {"edits": [edit.to_api()]}
        elif mode == "sdk":
            config = compaction_control.CompactionControl(threshold_tokens=c["threshold"].value)
            kw["compaction_control"] = config.to_sdk()
            kw["compaction_control_totals"] = c["totals"].value
        else:
            # Claude Code's own settings; at their defaults nothing is passed (as on the CLI)
            pct, window = c["pct"].value, c["auto_window"].value
            settings = claude_code.to_settings(
                claude_code.ClaudeCodeAutocompact(
                    pct_override=pct if pct < 100 else None,
                    window_tokens=window if window != self._auto_window_default else None,
                )
            )
            if c["disable"].value:
                settings[claude_code.DISABLE] = True
            kw["claude_code_autocompact"] = settings or True
        return kw

    def draw(self, sim: Simulation) -> list[dict[str, Any]]:
        recorded = bool(self.conv.compactions)
        what_if = self.controls["mode"].value != "recorded"
        if self._baseline is None:
            self._baseline = simulate(self.conv, **self.base, undo_recorded_compactions=recorded)
        self.figure = figures.compaction(
            sim,
            baseline=self._baseline if what_if or recorded else None,
            baseline_name="No compaction" if recorded else "As recorded",
        )
        events = figures.events_table(sim, types=figures.COMPACTION_EVENTS)
        return [figure_bundle(self.figure), _table_bundle(events)]

    def export_texts(self, kwargs: Mapping[str, Any]) -> dict[str, str]:
        mode = self.controls["mode"].value
        if mode == "recorded":
            return {"Policy": "As recorded: no policy to export."}
        if mode == "claude_code":
            return {
                "Policy": "Claude Code's auto-compact is a client behaviour, not an API setting."
            }
        cm = kwargs.get("context_management")
        cc = kwargs.get("compaction_control")
        texts = (
            {"context_management": snippets.context_management_json(cm)}
            if cm is not None
            else {"compaction_control": snippets.compaction_control_dict(cc or {})}
        )
        return {**texts, **self._sdk_call(context_management=cm, compaction_control=cc)}


class Explorer(w.Tab):  # type: ignore[misc]  # ipywidgets has no type information
    """The two pages as tabs; ``editing`` and ``compaction`` are their panels."""

    def __init__(self, conv: Conversation, **base: Any) -> None:
        recorded = simulate(conv, **base)
        windows = recorded.requests.get("context_window")
        window_tokens = (
            int(windows.max()) if windows is not None and len(windows) else DEFAULT_WINDOW_TOKENS
        )
        self.editing = EditingPanel(conv, base, window_tokens)
        self.compaction = CompactionPanel(conv, base, window_tokens)
        super().__init__(children=[self.editing.widget, self.compaction.widget])
        self.titles = (self.editing.title, self.compaction.title)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The widget, and a PNG of the open tab's figure as it is now: what a saved notebook
        shows where widgets are not drawn (GitHub's preview, nbconvert without widget state).
        Jupyter front ends draw the widget instead."""
        bundle: dict[str, Any] = dict(super()._repr_mimebundle_(**kwargs) or {})
        panel = (self.editing, self.compaction)[self.selected_index or 0]
        png = figure_png(panel.figure) if panel.figure is not None else None
        if png is not None:
            bundle["image/png"] = png
        return bundle


def explore(
    conv: Conversation, *, model: str | None = None, context_window: int | None = None
) -> Explorer:
    """Sliders over ``conv`` in a notebook: the app's Context editing and Compaction controls,
    the figures redrawn in place, and the configuration to export beside them.

    ``model`` and ``context_window`` replay every policy on another model or window. Needs
    ipywidgets (``pip install 'ctxviz[notebook]'``).
    """
    base = {k: v for k, v in {"model": model, "context_window": context_window}.items() if v}
    return Explorer(conv, **base)
