"""Golden tests per context policy (ctxviz/policies)."""
