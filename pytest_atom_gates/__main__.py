"""``python -m pytest_atom_gates merge ...``: the ``atom-gates`` command without its script."""

import sys

from pytest_atom_gates.cli import main

sys.exit(main())
