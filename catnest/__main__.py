"""`python -m catnest` runs the CLI."""

from catnest.cli import main

main()
