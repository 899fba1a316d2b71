"""``python -m remote_store._cli``."""

import sys

from remote_store._cli import main

sys.exit(main())
