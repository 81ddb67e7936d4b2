"""``python -m xcert.synth``: see the package docstring."""

import sys

from . import main

sys.exit(main())
