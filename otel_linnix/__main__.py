import sys

from otel_linnix.cli import main

sys.exit(main())
