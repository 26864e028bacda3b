"""Context policies: one module per policy, each the one home of its rule.

A policy's module holds its frozen config and defaults, the checks the API (or the SDK) makes on it
(``validate``), how it is read from and written back to the wire (``from_api`` / ``to_api``, typed
with the SDK's TypedDicts), the line a chart draws for it (``chart_line``), and what it does to the
prompt when it fires (its step). The simulator (``ctxviz.simulate``) owns request order and calls
these; where a decision is made:

- ``thinking``: which earlier turns' thinking the API strips by default (per model).
- ``clear_thinking``: the ``clear_thinking_20251015`` edit.
- ``clear_tool_uses``: the ``clear_tool_uses_20250919`` edit.
- ``compact``: server-side compaction ``compact_20260112`` (and ``compact_at``'s older form).
- ``compact_on_demand``: compaction on demand (the top-level ``compaction`` parameter), the
  client's loop: when, kept turns, background.
- ``preserved_thinking``: which earlier thinking a model with preserved thinking can still use
  (the model check and the prefix check after a client-side rewrite).
- ``compaction_control``: the SDK's client-side ``compaction_control``.
- ``claude_code``: Claude Code's auto-compaction.
- ``rolling``: a chat interface's first-in first-out window.
- ``limits``: context windows, ``context_window_exceeded``, context awareness, memory warning.
- ``edits``: ``EDIT_POLICIES``, the registry of edit policies: checking and parsing a
  ``context_management`` object into their configs, in the API's order. A new edit is a module
  (``TYPE``, ``KEYS``, ``BETA``, ``validate``, ``from_api``) plus one line there.
- ``base``: what the checks share (``PolicyError``, ``Findings``) and ``ChartLine``.
- ``step``: what a policy's step works on and gives back (the prompt, the event, applied edits).
"""
