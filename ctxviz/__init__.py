"""ctxviz: explore and replay how Claude's context window behaves.

The public surface is fixed by the API contract (load, loads, count_tokens, simulate, figures…);
everything else lives in private modules.
"""

from ctxviz.errors import TranscriptError
from ctxviz.model import Conversation, Message, Request, Usage

__all__ = ["Conversation", "Message", "Request", "TranscriptError", "Usage"]
__version__ = "0.1.0"
