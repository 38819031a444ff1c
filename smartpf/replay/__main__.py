"""``python -m smartpf.replay``: the replay exchange without the main ``smartpf`` command."""

import sys

from smartpf.replay.cli import main

if __name__ == "__main__":
    sys.exit(main())
