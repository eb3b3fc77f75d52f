"""interpreters.cli: the ``tower-llm-fx`` command (``demo``, ``replay``, ``show``, ``stats``).

>>> from interpreters.cli import build_parser
>>> build_parser().prog
'tower-llm-fx'
"""

from interpreters._publish import publish as _publish

from ._main import build_parser as build_parser
from ._main import main as main

__all__ = [
    "build_parser",
    "main",
]

_publish(__name__, globals(), __all__)
