"""ctxviz: explore and replay how Claude's context window behaves.

The public surface is fixed by the API contract (load, loads, count_tokens, simulate, figures…);
everything else lives in private modules. Every name is imported on first use (PEP 562), so that
``import ctxviz`` costs almost nothing and ``ctxviz.count_tokens`` never imports pandas or plotly.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ctxviz import figures, report
    from ctxviz.cost import cache_accounting, price_rows, request_costs
    from ctxviz.counting import count_tokens
    from ctxviz.errors import TranscriptError
    from ctxviz.loading import load, load_all, loads, loads_all
    from ctxviz.model import Conversation, Message, Request, Usage
    from ctxviz.models import ModelInfo, ModelTable, default_table, load_model_table
    from ctxviz.policies.base import PolicyError
    from ctxviz.policies.compaction_control import validate_compaction_control
    from ctxviz.policies.edits import validate_context_management
    from ctxviz.settings import SimulationSettings
    from ctxviz.simulator import Simulation, simulate
    from ctxviz.snippets import compaction_control_dict, context_management_json, python_sdk_call
    from ctxviz.widgets import explore

# name -> the module that defines it (a module's own name for a submodule)
_LAZY: dict[str, str] = {
    "figures": "ctxviz.figures",
    "report": "ctxviz.report",
    "cache_accounting": "ctxviz.cost",
    "request_costs": "ctxviz.cost",
    "price_rows": "ctxviz.cost",
    "count_tokens": "ctxviz.counting",
    "TranscriptError": "ctxviz.errors",
    "load": "ctxviz.loading",
    "load_all": "ctxviz.loading",
    "loads": "ctxviz.loading",
    "loads_all": "ctxviz.loading",
    "Conversation": "ctxviz.model",
    "Message": "ctxviz.model",
    "Request": "ctxviz.model",
    "Usage": "ctxviz.model",
    "explore": "ctxviz.widgets",
    "ModelInfo": "ctxviz.models",
    "ModelTable": "ctxviz.models",
    "default_table": "ctxviz.models",
    "load_model_table": "ctxviz.models",
    "Simulation": "ctxviz.simulator",
    "SimulationSettings": "ctxviz.settings",
    "simulate": "ctxviz.simulator",
    "PolicyError": "ctxviz.policies.base",
    "compaction_control_dict": "ctxviz.snippets",
    "context_management_json": "ctxviz.snippets",
    "python_sdk_call": "ctxviz.snippets",
    "validate_compaction_control": "ctxviz.policies.compaction_control",
    "validate_context_management": "ctxviz.policies.edits",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ctxviz' has no attribute {name!r}")
    imported = importlib.import_module(module)
    value = imported if module == f"ctxviz.{name}" else getattr(imported, name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Conversation",
    "Message",
    "ModelInfo",
    "ModelTable",
    "PolicyError",
    "Request",
    "Simulation",
    "SimulationSettings",
    "TranscriptError",
    "Usage",
    "cache_accounting",
    "compaction_control_dict",
    "context_management_json",
    "count_tokens",
    "default_table",
    "explore",
    "figures",
    "load",
    "load_all",
    "load_model_table",
    "loads",
    "loads_all",
    "price_rows",
    "python_sdk_call",
    "report",
    "request_costs",
    "simulate",
    "validate_compaction_control",
    "validate_context_management",
]
__version__ = "0.1.0"

if "ipykernel" in sys.modules:  # in Jupyter: figures also carry a PNG (or HTML) for saved notebooks
    from ctxviz.notebook import plotly_fallback

    plotly_fallback()
