import sys

from digitlib.apps.cli import main

sys.exit(main())
