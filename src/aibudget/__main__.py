"""``python -m aibudget`` runs the command line."""

from aibudget.cli import main

main()
