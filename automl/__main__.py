"""``python -m automl`` runs the command line."""

from automl.cli.app import main

main()
