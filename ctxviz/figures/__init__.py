"""Plotly figures of a simulation: pure drawing (no Streamlit), so notebooks, the CLI and the app
share them.

Every function takes a simulation (anything with ``requests``, ``events``, ``composition`` and
``settings``, as ``ctxviz.simulate`` returns) or a mapping of named simulations first, options
keyword-only, and returns a ``go.Figure``; an empty simulation still draws (axes, no data).

Conventions shared by every figure, so a reader learns them once:

- each prompt category has one fixed colour (:data:`COLORS`), chosen from Paul Tol's colour-blind
  safe "muted" scheme, plus greys of distinct lightness; readable on light and dark backgrounds;
- requests whose numbers are estimated rather than recorded are hatched (``/``) or drawn with open
  markers, and each figure's subtitle says how many requests are of each kind;
- events (clearings, compactions, the window exceeded) have one symbol and colour each
  (:data:`EVENT_STYLES`) and their hover says what happened and the prompt before → after.
"""

from ctxviz.figures._compaction import compaction
from ctxviz.figures._compare import compare, compare_table
from ctxviz.figures._composition import composition, composition_table
from ctxviz.figures._cost import cost
from ctxviz.figures._editing import cache_invalidations, context_editing
from ctxviz.figures._fleet import (
    PROJECT_COLORS,
    fleet_compactions,
    fleet_cost,
    fleet_peaks,
    sweep_savings,
)
from ctxviz.figures._lines import PolicyLine, policy_lines
from ctxviz.figures._readers import (
    BoolArray,
    FloatArray,
    IntArray,
    source_counts,
    source_note,
    window_tokens,
)
from ctxviz.figures._style import (
    CARRIED_COLOR,
    COLORS,
    EVENT_STYLES,
    HATCHED,
    MANY_EVENTS,
    NEUTRAL,
    RECORDED_CLEARING_EVENTS,
    STRATEGY_COLORS,
    STRATEGY_DASHES,
    WINDOW_COLOR,
    EventStyle,
)
from ctxviz.figures._tables import (
    APPLIED_EDIT_COLUMNS,
    COST_COLUMNS,
    EVENT_TABLE_COLUMNS,
    PROMPT_TABLE_COLUMNS,
    applied_edits_table,
    cost_table,
    events_table,
    prompt_table,
    request_picker,
    request_row,
    summary,
)
from ctxviz.figures._thinking import thinking, turn_starts
from ctxviz.figures._timeline import timeline
from ctxviz.figures._traces import FAR, HEADROOM
from ctxviz.summary import CLEARING_EVENTS, COMPACTION_EVENTS, SimulationLike

__all__ = [
    "APPLIED_EDIT_COLUMNS",
    "CARRIED_COLOR",
    "CLEARING_EVENTS",
    "COLORS",
    "COMPACTION_EVENTS",
    "COST_COLUMNS",
    "EVENT_STYLES",
    "EVENT_TABLE_COLUMNS",
    "FAR",
    "HATCHED",
    "HEADROOM",
    "MANY_EVENTS",
    "NEUTRAL",
    "PROJECT_COLORS",
    "PROMPT_TABLE_COLUMNS",
    "RECORDED_CLEARING_EVENTS",
    "STRATEGY_COLORS",
    "STRATEGY_DASHES",
    "WINDOW_COLOR",
    "BoolArray",
    "EventStyle",
    "FloatArray",
    "IntArray",
    "PolicyLine",
    "SimulationLike",
    "applied_edits_table",
    "cache_invalidations",
    "compaction",
    "compare",
    "compare_table",
    "composition",
    "composition_table",
    "context_editing",
    "cost",
    "cost_table",
    "events_table",
    "fleet_compactions",
    "fleet_cost",
    "fleet_peaks",
    "policy_lines",
    "prompt_table",
    "request_picker",
    "request_row",
    "source_counts",
    "source_note",
    "summary",
    "sweep_savings",
    "thinking",
    "timeline",
    "turn_starts",
    "window_tokens",
]
