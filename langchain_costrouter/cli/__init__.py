"""The ``costrouter`` command. Each subcommand is a module with ``configure(parser)``.

Only the module of the subcommand being run is imported, so ``costrouter --help`` loads
none of them (they bring numpy, SQLAlchemy and the calibration code). A known error
(a `CostRouterError` or an ``OSError``: bad input, a file that cannot be read or
written) is one line on stderr, ``costrouter: error: ...``, and exit status 2, as
argparse does for a bad argument; ``--debug`` prints the traceback before that line.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType

from langchain_costrouter.errors import CostRouterError

EXIT_ERROR = 2
"""Exit status of a known error, the same as argparse's for a bad argument."""
EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C: 128 + SIGINT, what a shell reports for a command it ended."""
EXIT_STATUSES = (
    "exit status: 0 done; 1 a finding (drift: a task below its promise; collect: "
    f"questions left for a re-run); {EXIT_ERROR} bad input or a failure, said in one line "
    f"on stderr (--debug adds the traceback); {EXIT_INTERRUPTED} interrupted (Ctrl-C)"
)
"""What ``costrouter --help`` says the statuses mean: a script branches on them."""
BLAS_THREADS = "OPENBLAS_NUM_THREADS"
"""Unless the environment sets it, the command runs numpy's OpenBLAS on one thread.

Calibration makes many small matrix products, which more threads do not speed up: a
guarded calibrate of the bundled OVERRULING outcomes took 27.3 s on one thread and 26-27
s on two on an idle 2-core machine, but 27.7 s against 66.9 s on a busy one, where the
second thread spins waiting for a core (the policies are the same bit for bit). Its
``--workers`` processes inherit the setting.
"""

# Subcommand modules and their one-line help, in the order `costrouter --help` lists them.
SUBCOMMANDS = {
    "demo": "calibrate and route the bundled sample: no API key, no network",
    "routes": "show the task routes of a config file (default: the bundled example)",
    "calibrate": "learn the cheapest cascade that keeps quality, from recorded outcomes",
    "replay": "run a policy over recorded outcomes through the router",
    "report": "spend, tokens and savings per task, model, day or purpose",
    "collect": "run an eval set through the config's models and record scored outcomes",
    "drift": "compare recent shadow results per task with the quality its policy promised",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported to add its arguments."""
    parser = argparse.ArgumentParser(
        prog="costrouter",
        description="Route LangChain calls to the cheapest fit model, and prove the saving.",
        epilog=EXIT_STATUSES,
    )
    parser.add_argument(
        "--version",
        action=_PrintVersion,
        nargs=0,
        default=argparse.SUPPRESS,
        help="show program's version number and exit",
    )
    parser.add_argument("--debug", action="store_true", help="on an error, print the traceback too")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in SUBCOMMANDS.items():
        if not _installed(name):
            continue  # subcommand not shipped in this build
        subparser = subparsers.add_parser(name, help=summary, description=summary)
        if name == command:
            _load(name).configure(subparser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    os.environ.setdefault(BLAS_THREADS, "1")  # before a subcommand's module loads numpy
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = _command_in(arguments)
    try:
        return _run(arguments, command)
    except KeyboardInterrupt:
        pass  # Ctrl-C while importing the subcommand's module, or while it works
    # Out of the except block the traceback's frames are gone, and with them what they
    # held: a progress bar closes (printing its last state) before the line below.
    hint = getattr(sys.modules.get(f"{__name__}.{command}"), "ON_INTERRUPT", "")
    print(f"costrouter: interrupted{'; ' + hint if hint else ''}", file=sys.stderr)
    return EXIT_INTERRUPTED


def _run(arguments: list[str], command: str | None) -> int:
    """Parse the arguments and run the subcommand; a known error is one line, status 2."""
    parser = build_parser(command)
    args = parser.parse_args(arguments)
    if not hasattr(args, "func"):
        parser.print_help()
        return 0
    try:
        return int(args.func(args))
    except BrokenPipeError:
        # The reader went away (``costrouter report | head``): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CostRouterError, OSError) as error:
        if args.debug:
            traceback.print_exc()
        print(f"costrouter: error: {one_line(error)}", file=sys.stderr)
        return EXIT_ERROR


def one_line(error: BaseException) -> str:
    """The error's message on one line; an OSError as ``path: reason``."""
    if isinstance(error, OSError) and error.strerror:
        where = error.filename if error.filename is not None else ""
        message = f"{where}: {error.strerror}" if where else error.strerror
    else:
        message = str(error) or type(error).__name__
    return " ".join(message.split())


def _command_in(arguments: Sequence[str]) -> str | None:
    """The subcommand named on the command line: the first argument that is not an option."""
    first = next((a for a in arguments if not a.startswith("-")), None)
    return first if first in SUBCOMMANDS else None


def _installed(name: str) -> bool:
    return importlib.util.find_spec(f"{__name__}.{name}") is not None


def _load(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")


class _PrintVersion(argparse.Action):
    """``--version``, looked up only when asked: importlib.metadata costs every other run
    tens of milliseconds (argparse's own version action wants the string up front)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(f"{parser.prog} {_version()}")
        parser.exit()


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("langchain-costrouter")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
