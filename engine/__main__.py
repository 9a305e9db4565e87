"""`python -m engine train|gradcheck|config-table ...` — see engine/cli.py and docs/config.md."""
import sys

from engine.blas import short_thread_spin

short_thread_spin()  # before NumPy loads OpenBLAS (engine/blas.py)

from engine.cli import main  # noqa: E402

sys.exit(main())
