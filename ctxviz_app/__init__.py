"""The Streamlit explorer's boundary with Streamlit: caching, the shared sidebar, URL state.

Pages (``app.py``, ``pages/*.py``) call :func:`ctxviz_app.ui.run_page`; everything they draw comes
from ``ctxviz`` (the pure core) through here.
"""
