import sys

from zablab.cli import main

sys.exit(main())
