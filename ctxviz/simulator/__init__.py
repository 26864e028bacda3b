"""Replay a conversation request by request, as recorded or under context policies it did not use.

``simulate`` owns request order: ``ctxviz.simulator.loop`` is the one loop. Each policy decides in
its own module (``ctxviz.policies.*``, each with its step); the loop applies them in the order a
request goes through them:

1. client side, before sending: Claude Code auto-compaction, then a rolling FIFO window;
2. server side, in the order of ``context_management.edits`` (``clear_thinking_20251015`` first),
   each trigger measured on the prompt the edits before it left; ``compact_20260112`` judged last
   on the cleared prompt (and on-demand compaction at ``compact_at``);
3. the response; then, client side, the SDK's ``compaction_control`` on that response's usage.

Faithfulness (docs/semantics.md#faithful-replay): a request the policies leave as recorded keeps its
recorded numbers to the token. Otherwise ``input_tokens = recorded prompt - scaled estimate of what
the policies removed + what they added`` (placeholders at their estimated size, summaries at
``summary_tokens``). Block sizes come from the counter (``ctxviz.estimates``) and are scaled by one
factor per transcript, ``scale = sum(recorded prompts - hidden prefix) / sum(estimated prompts)``,
so that they agree with the recorded totals (a response's own blocks, its output and the thinking
derived from it, are not: the scale measures what a prompt carries beyond the file,
``Context.response_scale``); what a policy removes from a request is valued at
that request's own ratio ``(recorded - hidden prefix) / estimate``, so that removing every visible
block leaves exactly the hidden prefix. A transcript without usage is estimated throughout
(scale 1). Claude Code's system prompt and tools are not in the file: the hidden prefix is the
first recorded prompt minus the estimate of its visible messages. A recorded server compaction's
iteration (the whole prompt it read) is one more recorded size for the scale.

A replay as recorded whose every request is recorded (``run``) first counts only the responses'
visible text and the first prompt; the whole replay (every prompt's estimate) runs when the
composition, the scale or a column made of them is first read (``Simulation.deferred``).

The hot path works on per-message and per-tool-use prefix sums (Python lists of ints, built once
with numpy): every prompt is a small descriptor (first message, end, first turn whose thinking is
kept, range of cleared tool uses, summary in front), and its size is a handful of lookups.

The package: ``arguments`` (``simulate``'s arguments checked), ``prepare`` (the engine, recorded
compactions, windows, calibration), ``engine`` (prefix sums), ``context`` (what the loop and the
assembly share, and the calibration), ``loop``, ``assemble`` (frames, caching, dollars, limits),
``result`` (``Simulation``), ``inspector`` (one prompt, block by block), ``recorded`` (what the
recording says beyond prompts), ``run`` (``simulate``, ``prompt_tokens``).
"""

from ctxviz.policies.step import EVENT_COLUMNS
from ctxviz.simulator.context import DEFAULT_SUMMARY_TOKENS
from ctxviz.simulator.inspector import BlockStatus, BlockView, PromptView
from ctxviz.simulator.result import REQUEST_COLUMNS, Simulation
from ctxviz.simulator.run import prompt_tokens, simulate

__all__ = [
    "DEFAULT_SUMMARY_TOKENS",
    "EVENT_COLUMNS",
    "REQUEST_COLUMNS",
    "BlockStatus",
    "BlockView",
    "PromptView",
    "Simulation",
    "prompt_tokens",
    "simulate",
]
