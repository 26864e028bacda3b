"""Fleet: every session of a folder on the server or an uploaded zip, indexed by ``ctxviz.fleet``
(the code ``ctxviz fleet`` runs): a sortable, filterable table whose rows open in the explorer,
charts across sessions, and a policy sweep."""

from __future__ import annotations

import hashlib
import os
from typing import Any, Final

import pandas as pd
import streamlit as st

from ctxviz import cli, figures, fleet
from ctxviz_app import ui

# This session's last scan: (what was read, its rows as JSON, the sweep's totals and rows).
_RESULT: Final = "_ctxviz_fleet"

SWEEPS: Final = {
    "clear-tool-uses-trigger": "Context editing: clear_tool_uses trigger",
    "compact-trigger": "Server compaction (compact_20260112): trigger",
    "compaction-threshold": "SDK compaction_control: threshold",
    "auto-compact-window": "Claude Code auto-compact: autoCompactWindow",
}
# The grids the page offers: ``ctxviz fleet --sweep OPTION=…`` (the same parsing).

COLUMNS: Final = (
    "project",
    "session",
    "started",
    "model",
    "requests",
    "peak_input_tokens",
    "compactions",
    "clearings",
    "over_window_requests",
    "total_cost_usd",
    "subagents",
    "subagents_cost_usd",
    "error",
    "path",
)


def _uploaded_zip(index_path: str) -> str | None:
    """The uploaded zip, kept as a file beside the index (named by its hash: the index's key)."""
    uploaded = st.session_state.get("fl_zip")
    if uploaded is None:
        return None
    data = uploaded.getvalue()
    folder = os.path.join(os.path.dirname(os.path.abspath(index_path)), "uploads")
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, hashlib.sha256(data).hexdigest() + ".zip")
    if not os.path.exists(target):
        with open(target, "wb") as f:
            f.write(data)
    return target


def _scan(given: list[str], index_path: str, policies: list[fleet.Policy]) -> None:
    paths = fleet.discover(given)
    bar = st.progress(0.0, text=f"Reading {len(paths):,} files…")

    def progress(done: int, total: int, path: str) -> None:
        name = ui.md(os.path.basename(path))  # progress text is markdown
        bar.progress(done / total, text=f"{done:,} of {total:,} files read ({name})")

    with fleet.Index(index_path) as index:
        result = fleet.scan(
            paths, index=index, policies=policies, progress=progress, models=ui.model_table()
        )
    bar.empty()
    st.session_state[_RESULT] = {
        "given": given,
        "read_files": result.read_files,
        "skipped": [{"path": path, "reason": why} for path, why in result.skipped],
        "sessions": [r.to_json() for r in result.sessions],
        "totals": [t.to_json() for t in result.totals],
        "sweeps": [
            {**r.to_json(), "policy": names.get(r.policy, r.policy)}
            for names in ({p.settings_json: p.name for p in policies},)
            for r in result.sweeps
        ],
    }


def _sweep_argv() -> list[str] | None:
    """The sweep's options, as ``ctxviz fleet`` takes them (None: no sweep)."""
    kind = st.selectbox(
        "Policy sweep",
        ["none", *SWEEPS, "json"],
        key="fl_sweep",
        format_func=lambda k: {"none": "No sweep", "json": "Policies as JSON"}.get(
            k, SWEEPS.get(k, k)
        ),
        help="Replay every session under each policy (the simulator of every page) and add up "
        "what it saves against the recording.",
    )
    if kind == "none":
        return None
    if kind == "json":
        text = st.text_area(
            "One policy per line",
            key="fl_json",
            value='{"edits": [{"type": "clear_tool_uses_20250919"}]}',
            help="simulate's settings as `ctxviz simulate --json` prints them, or a "
            "context_management object or list of edits (`ctxviz fleet --policy`).",
        )
        argv: list[str] = []
        for line in text.splitlines():
            if line.strip():
                argv += ["--policy", line.strip()]
        return argv
    low_default, high_default = (
        (100_000, 1_000_000)
        if kind == "auto-compact-window"
        else (
            50_000 if kind == "compact-trigger" else 30_000,
            150_000,
        )
    )
    cols = st.columns(3)
    low = cols[0].number_input("From (tokens)", 1_000, 2_000_000, low_default, 10_000, key="fl_lo")
    high = cols[1].number_input("To (tokens)", 1_000, 2_000_000, high_default, 10_000, key="fl_hi")
    step = cols[2].number_input("Step (tokens)", 1_000, 1_000_000, 30_000, 5_000, key="fl_step")
    argv = ["--sweep", f"{kind}={int(low)}..{int(high)}/{int(step)}"]
    if kind == "clear-tool-uses-trigger":
        keep = st.number_input("Keep the last N tool uses", 0, 100, 3, key="fl_keep")
        argv += ["--keep", str(int(keep))]
    return argv


def _filtered(rows: pd.DataFrame) -> pd.DataFrame:
    cols = st.columns([2, 2, 1])
    projects = sorted(rows["project"].dropna().astype(str).unique())
    chosen = cols[0].multiselect("Projects", projects, key="fl_projects", placeholder="all")
    text = cols[1].text_input("Path or model contains", key="fl_text")
    only = cols[2].selectbox(
        "Show",
        ["all", "compacted", "over the window", "not read"],
        key="fl_only",
    )
    keep = pd.Series(True, index=rows.index)
    if chosen:
        keep &= rows["project"].isin(chosen)
    if text:
        hay = rows["path"].astype(str) + " " + rows["model"].fillna("").astype(str)
        keep &= hay.str.contains(text, case=False, regex=False)
    if only == "compacted":
        keep &= rows["compactions"].fillna(0) > 0
    elif only == "over the window":
        keep &= rows["over_window_requests"].fillna(0) > 0
    elif only == "not read":
        keep &= rows["error"].notna()
    return rows[keep]


def _open_row(row: pd.Series) -> None:
    if row["error"] is not None and not pd.isna(row["error"]):
        st.warning(f"{ui.md(row['session'])} could not be read: {ui.md(row['error'])}")
        return
    if int(row["conversation"]):  # an export's, a log's or a zip's second conversation on
        zipped = str(row["path"]).lower().endswith(".zip")
        st.info(
            f"This session is not the first of its {'zip' if zipped else 'file'}: the explorer "
            f"opens a {'zip' if zipped else 'file'}'s first conversation. "
            + (
                "Upload the session's own file (with its subagents folder, zipped) instead."
                if zipped
                else f"`ctxviz simulate FILE --conversation {int(row['conversation'])}` "
                "replays this one."
            )
        )
        return
    path = str(row["path"])
    st.button(
        f"Open {ui.md(row['session'])} in the explorer",  # a label is markdown
        key="fl_open",
        type="primary",
        on_click=ui.open_transcript,
        args=(lambda: fleet.session_bundle(path),),
    )


def _skipped(result: dict[str, Any]) -> None:
    """The .json/.yaml files of the folder that are not transcripts, each with why."""
    skipped = result["skipped"]
    if not skipped:
        return
    n = len(skipped)
    with st.expander(f"{n:,} file{'s' if n != 1 else ''} skipped: not transcripts"):
        frame = pd.DataFrame(skipped)
        frame.insert(0, "file", frame["path"].map(os.path.basename))
        ui.table(frame[["file", "reason", "path"]], key="fl_skipped")


def _sessions(result: dict[str, Any]) -> None:
    rows = pd.DataFrame(result["sessions"])
    if rows.empty:
        st.info(f"No sessions found under {ui.md(', '.join(result['given']))}.")
        _skipped(result)
        return
    rows["session"] = [
        os.path.basename(p) + (f" #{c}" if c else "")
        for p, c in zip(rows["path"], rows["conversation"], strict=True)
    ]
    ok = rows[rows["error"].isna()]
    cols = st.columns(5)
    cols[0].metric(
        "Sessions", f"{len(ok):,}", help="Rows read; sub-agents count with their parent."
    )
    own, agents = ok["total_cost_usd"].fillna(0).sum(), ok["subagents_cost_usd"].fillna(0).sum()
    cols[1].metric(
        "Cost (USD)",
        f"${own + agents:,.2f}",
        help=f"The sessions' own requests ${own:,.2f}, their sub-agents ${agents:,.2f} "
        "(list prices with prompt caching).",
    )
    cols[2].metric("With a compaction", f"{int((ok['compactions'] > 0).sum()):,}")
    cols[3].metric("Over the window", f"{int((ok['over_window_requests'] > 0).sum()):,}")
    cols[4].metric("Not read", f"{len(rows) - len(ok):,}")
    st.caption(
        f"{result['read_files']:,} files read now, the others from the index. Click a row to "
        "open that session in the explorer."
    )
    shown = _filtered(rows)
    event = st.dataframe(
        shown[list(COLUMNS)],
        key="fl_table",
        on_select="rerun",
        selection_mode="single-row",
        hide_index=True,
        width="stretch",
        column_config={
            "peak_input_tokens": st.column_config.NumberColumn("peak prompt", format="localized"),
            "total_cost_usd": st.column_config.NumberColumn(
                "$", format="%.4f", help="The session's own requests"
            ),
            "subagents_cost_usd": st.column_config.NumberColumn(
                "sub-agents $", format="%.4f", help="Its sub-agents, each replayed as recorded"
            ),
            "over_window_requests": st.column_config.NumberColumn("over window"),
            "requests": st.column_config.NumberColumn(format="localized"),
        },
    )
    picked = list(event.selection.rows) if event is not None else []
    names = shown["session"].tolist()
    chosen = st.selectbox(
        "Session to open",
        list(range(len(shown))),
        index=picked[0] if picked else None,
        key="fl_pick",
        format_func=lambda i: f"{names[i]} ({shown['project'].iloc[i]})",
        placeholder="click a row of the table, or pick it here",
    )
    if chosen is not None:
        _open_row(shown.iloc[chosen])
    _skipped(result)
    if not len(ok):
        return
    st.subheader("Across sessions")
    ui.chart(figures.fleet_peaks(ok), key="fl_peaks")
    ui.chart(figures.fleet_cost(ok), key="fl_cost")
    ui.chart(figures.fleet_compactions(ok), key="fl_compactions")
    undated = ok[ok["started"].isna()]
    if len(undated):
        n = len(undated)
        st.caption(
            f"{n:,} session{'s' if n != 1 else ''} without a recorded start time (logs and "
            "cassettes without timestamps, claude.ai exports) "
            f"{'are' if n != 1 else 'is'} in the table and the totals "
            f"(${_with_subagents(undated).sum():,.2f}), not in the charts by day."
        )


def _with_subagents(rows: pd.DataFrame) -> pd.Series:
    return rows["total_cost_usd"].fillna(0) + rows["subagents_cost_usd"].fillna(0)


def _sweep(result: dict[str, Any]) -> None:
    if not result["totals"]:
        return
    st.subheader("Policy sweep")
    totals = pd.DataFrame(result["totals"])
    ui.chart(figures.sweep_savings(totals), key="fl_sweep_chart")
    ui.table(totals, key="fl_totals")
    with st.expander("Per session"):
        per = pd.DataFrame(result["sweeps"])
        per["session"] = per["path"].map(os.path.basename)
        ui.table(
            per[
                [
                    "policy",
                    "session",
                    "tokens_saved",
                    "usd_saved",
                    "compactions_added",
                    "over_window_requests",
                    "recorded_over_window_requests",
                    "error",
                ]
            ],
            key="fl_sweep_rows",
        )


def body(app: ui.App) -> None:
    where = st.radio(
        "Sessions from",
        ["folder", "zip"],
        key="fl_from",
        horizontal=True,
        format_func={"folder": "A folder on the server", "zip": "A zip upload"}.__getitem__,
    )
    with st.expander("Index file"):
        index_path = st.text_input(
            "DuckDB index",
            value=fleet.default_index_path(),
            key="fl_index",
            help="Where the rows are kept (queryable with SQL: docs/fleet.md); unchanged files "
            "are read from it instead of parsed again.",
        )
    if where == "folder":
        folder = st.text_input(
            "Folder, file or glob on the server",
            value=fleet.default_paths()[0],
            key="fl_folder",
            help="Searched recursively for transcripts of every format ctxviz reads: Claude "
            "Code sessions, API logs and cassettes, OpenAI logs, claude.ai exports, claude-trace "
            "captures (.jsonl, .json, .yaml, .yml, compressed or not) and zips. Sub-agent files "
            "count with their session; a .json or .yaml that is not a transcript is skipped.",
        )
        given = [folder] if folder.strip() else []
    else:
        st.file_uploader(
            "A zip of sessions or logs (e.g. your ~/.claude/projects folder, zipped)",
            type=["zip"],
            key="fl_zip",
        )
        zipped = _uploaded_zip(index_path)
        given = [zipped] if zipped else []
    argv = _sweep_argv()
    if st.button("Read the sessions", key="fl_go", type="primary", disabled=not given):
        policies = cli.policies_from_argv(argv) if argv else []
        _scan(given, index_path, policies)
    result = st.session_state.get(_RESULT)
    if result is None:
        st.info(
            "Choose a folder or upload a zip, then read the sessions: one row each, with its "
            "requests, peak prompt, compactions, window hits and cost."
        )
        return
    _sessions(result)
    _sweep(result)


ui.run_page(
    "Fleet — every session at once",
    body,
    icon=":material/table_view:",
    intro="Every session of a folder or a zip, replayed as recorded (the numbers of "
    "`ctxviz simulate --json`), kept in a DuckDB index; and what a policy would have saved "
    "across all of them. The same as `ctxviz fleet` on the command line.",
)
