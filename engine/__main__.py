"""`python -m engine train|gradcheck|config-table ...` — see engine/cli.py and docs/config.md."""
import sys

from engine.cli import main

sys.exit(main())
