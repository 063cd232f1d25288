"""`python -m gh_year_end` runs the ghye command line."""

from __future__ import annotations

from gh_year_end.cli import main

if __name__ == "__main__":
    main()
