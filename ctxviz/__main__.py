"""``python -m ctxviz``: the command line (``ctxviz.cli``)."""

import sys

from ctxviz.cli import main

sys.exit(main())
