"""`python -m jaxexplain`."""

from jaxexplain.cli import main

main()
