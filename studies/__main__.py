"""`python -m studies ...` is the `brainbridge` command."""
import sys

from .cli import main

sys.exit(main())
