"""``python -m pressroom`` runs the command line."""

from pressroom.cli import main

main()
