"""ctxviz: explore and replay how Claude's context window behaves.

The public surface is fixed by the API contract (load, loads, count_tokens, simulate, figures…);
everything else lives in private modules.
"""

from ctxviz import figures, report
from ctxviz.cost import cache_accounting, request_costs
from ctxviz.counting import count_tokens
from ctxviz.errors import TranscriptError
from ctxviz.loading import load, load_all, loads, loads_all
from ctxviz.model import Conversation, Message, Request, Usage
from ctxviz.models import ModelInfo, ModelTable, default_table, load_model_table
from ctxviz.simulate import Simulation, SimulationSettings, simulate
from ctxviz.snippets import (
    PolicyError,
    compaction_control_dict,
    context_management_json,
    python_sdk_call,
    validate_compaction_control,
    validate_context_management,
)

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
    "figures",
    "load",
    "load_all",
    "load_model_table",
    "loads",
    "loads_all",
    "python_sdk_call",
    "report",
    "request_costs",
    "simulate",
    "validate_compaction_control",
    "validate_context_management",
]
__version__ = "0.1.0"
