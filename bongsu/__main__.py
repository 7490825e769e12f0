"""`python -m bongsu` is the `bongsu` command, for children started with the same interpreter."""

from bongsu.cli import main

main()
