"""``python -m gh_year_end.testing.fakegithub --help``: see :mod:`.cli`."""

from gh_year_end.testing.fakegithub.cli import main

raise SystemExit(main())
