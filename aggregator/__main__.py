"""``python -m aggregator`` runs the command line."""

from aggregator.cli.main import main

main()
