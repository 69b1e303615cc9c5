"""Files written into the child pytest runs of the LanceDB tests.

"Missing" and "broken" lancedb are simulated the way a machine shows them, in the child process
itself: a ``sitecustomize`` module (on the child's ``PYTHONPATH``, which pytester points at the
test directory) puts an import finder in front of the real ones. lancedb's behaviour is never
imitated: either the real package is imported, or the import fails.
"""

NOT_INSTALLED = """
import sys


class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name == "lancedb" or name.startswith("lancedb."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled())
"""

BROKEN = """
import sys
from importlib.machinery import ModuleSpec


class _Broken:
    def find_spec(self, name, path=None, target=None):
        if name == "lancedb":
            return ModuleSpec(name, self, origin="/site-packages/lancedb/__init__.py")
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        raise ImportError("_lancedb.abi3.so: undefined symbol: lance_open")


sys.meta_path.insert(0, _Broken())
"""

IMPORT_REPORT = """
import sys


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"lancedb imported: {'lancedb' in sys.modules}")
"""
