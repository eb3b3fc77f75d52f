"""``python -m interpreters`` runs the ``tower-llm-fx`` command line."""

import sys

from .cli import main

sys.exit(main())
