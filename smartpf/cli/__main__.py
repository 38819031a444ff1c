"""``python -m smartpf.cli``: the same as the ``smartpf`` program."""

import sys

from smartpf.cli import main

sys.exit(main())
