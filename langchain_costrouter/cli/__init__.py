"""The ``costrouter`` command. Each subcommand is a module with ``register(subparsers)``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

# Subcommand modules, in the order `costrouter --help` lists them.
SUBCOMMANDS = ("demo", "routes", "calibrate", "replay", "report")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="costrouter",
        description="Route LangChain calls to the cheapest fit model, and prove the saving.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        module = _load(name)
        if module is not None:
            module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 0
    try:
        return int(args.func(args))
    except BrokenPipeError:
        # The reader went away (``costrouter report | head``): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _load(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"langchain_costrouter.cli.{name}")
    except ModuleNotFoundError as error:
        if error.name == f"langchain_costrouter.cli.{name}":
            return None  # subcommand not installed in this build
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
