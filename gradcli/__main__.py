"""`python -m gradcli`: the command line."""

from gradcli.cli import main

main()
