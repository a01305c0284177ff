import sys

from etl.tools.cli import main

sys.exit(main())
