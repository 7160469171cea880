import sys

from carecircle.cli import main

sys.exit(main())
