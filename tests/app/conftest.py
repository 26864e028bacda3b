"""tests/app: put the repository root on sys.path (pages import ctxviz_app from there, as
``streamlit run app.py`` does) before the AppTests run."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
