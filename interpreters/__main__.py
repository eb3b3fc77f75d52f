"""``python -m interpreters`` runs the ``tower-llm-fx`` command line."""

import sys

from ._cli import main

sys.exit(main())
