"""Run examples/explore.ipynb top to bottom and save it with its outputs (what GitHub shows).

The kernel is this interpreter (a temporary kernelspec found through JUPYTER_PATH: nothing is
installed for the user) and imports this checkout of ctxviz. In a kernel, ``import ctxviz`` makes
every figure carry a PNG (kaleido with the system's Chromium, ``ctxviz.notebook.figure_png``), so
the saved notebook shows its figures where no JavaScript runs. Widget state is not saved: the
explorer's cell carries a PNG of its figure instead. Re-run after changing the notebook or the
figures, and commit the result:

    .venv/bin/python scripts/execute_notebook.py [--check]   # --check: execute, write nothing
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "explore.ipynb"
KERNEL = "ctxviz-notebook"


def execute(path: Path = NOTEBOOK) -> nbformat.NotebookNode:
    """The notebook at ``path`` executed in a kernel of this interpreter; raises
    ``nbclient.exceptions.CellExecutionError``, naming the cell, if a cell fails."""
    from ipykernel.kernelspec import install
    from nbclient import NotebookClient

    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "PYTHONPATH")}
    with tempfile.TemporaryDirectory() as prefix:
        install(kernel_name=KERNEL, display_name="ctxviz", prefix=prefix)
        os.environ["JUPYTER_PATH"] = str(Path(prefix) / "share" / "jupyter")
        os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), saved["PYTHONPATH"] or ""])
        try:
            nb = nbformat.read(path, as_version=4)
            for cell in nb.cells:
                cell.metadata.pop("execution", None)  # timestamps of an earlier run
            NotebookClient(
                nb,
                kernel_name=KERNEL,
                timeout=600,
                record_timing=False,  # no per-cell timestamps: a re-run changes only what it shows
                resources={"metadata": {"path": str(path.parent)}},
            ).execute()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    # the kernelspec is temporary: name the language only, as a fresh notebook does
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata.pop("widgets", None)
    return nb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="execute only, write nothing")
    args = parser.parse_args()
    nb = execute()
    nbformat.validate(nb)
    if not args.check:
        nbformat.write(nb, NOTEBOOK)
        print(f"wrote {NOTEBOOK.relative_to(ROOT)} ({NOTEBOOK.stat().st_size:,} bytes)")


if __name__ == "__main__":
    sys.exit(main())
