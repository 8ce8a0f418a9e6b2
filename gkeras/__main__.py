"""`python -m gkeras`: prints the environment report of `gkeras.info`."""

import sys

from gkeras.info import main

if __name__ == "__main__":
    sys.exit(main())
