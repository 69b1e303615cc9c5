"""``python -m pytest_atom_gates merge ...``: the ``atom-gates`` command without its script."""

import sys

from pytest_atom_gates.cli import main

if __name__ == "__main__":  # importing the module (as tools that walk packages do) runs nothing
    sys.exit(main())
