"""Context policies: one module per policy, each a frozen config plus pure decision functions.

The simulator (``ctxviz.simulate``) owns request order and calls these; where a decision is made:

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
- ``edits``: parsing a ``context_management`` object into these configs, in the API's order.
- ``step``: what every step works on and gives back (``Prompt``, ``At``, ``Fired``, ...).
"""
