#!/bin/sh
# Set up ctxviz in ./.venv: find a Python >= 3.12, create the virtual environment, install ctxviz.
#   scripts/setup.sh         runtime only (what `streamlit run app.py` needs)
#   scripts/setup.sh --dev   plus the test and lint tools
# PYTHON=/path/to/python3.12 scripts/setup.sh picks the interpreter explicitly.
set -eu
cd "$(dirname "$0")/.."

is_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }

find_python() {
    for c in ${PYTHON:-} python3.12 python3.13 python3.14 python3 python; do
        if command -v "$c" >/dev/null 2>&1 && is_ok "$c"; then command -v "$c"; return 0; fi
    done
    # pyenv or uv installs that are not on PATH
    for c in "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3 "$HOME"/.local/share/uv/python/cpython-3.1[2-9]*/bin/python3; do
        if [ -x "$c" ] && is_ok "$c"; then echo "$c"; return 0; fi
    done
    return 1
}

if [ -x .venv/bin/python ] && is_ok .venv/bin/python; then
    :
else
    py=$(find_python) || {
        echo "ctxviz needs Python 3.12 or newer, and none was found on PATH or in ~/.pyenv." >&2
        echo "Install one (python.org, your package manager, pyenv or uv), or set PYTHON=/path/to/python3.12." >&2
        exit 1
    }
    echo "Using $py ($("$py" --version 2>&1))"
    rm -rf .venv
    "$py" -m venv .venv
fi

.venv/bin/python -m pip install --quiet --upgrade pip
if [ "${1:-}" = "--dev" ]; then
    .venv/bin/python -m pip install --quiet -r requirements.txt -e ".[test]"
else
    .venv/bin/python -m pip install --quiet -r requirements.txt -e .
fi
echo "ctxviz is set up in .venv ($(.venv/bin/python --version))"
