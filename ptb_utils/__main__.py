"""``python -m ptb_utils``: the language-model command line (see :mod:`ptb_utils.cli`)."""

from ptb_utils.cli import main

raise SystemExit(main())
