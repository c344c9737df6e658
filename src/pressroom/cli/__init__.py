"""The ``pressroom`` command line."""

from pressroom.cli.main import main

__all__ = ["main"]
