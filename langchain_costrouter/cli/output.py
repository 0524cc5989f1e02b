"""What every subcommand does with its output: print the report, check where files go,
show dollars exactly.

Output paths are checked before the work starts: a calibration that runs for an hour
must not fail at the end because ``--out`` names a directory that does not exist.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from langchain_costrouter.errors import ConfigError
from langchain_costrouter.ledger.dollars import rounded_percent


def print_report(
    report: dict[str, Any], *, as_json: bool, render: Callable[[dict[str, Any]], str]
) -> int:
    """Print ``report`` as one JSON object or as text; exit status 0."""
    print(json.dumps(report) if as_json else render(report))
    return 0


def check_output_file(
    path: Path, option: str, inputs: Mapping[str, Path | None] | None = None
) -> Path:
    """``path`` when a file can be written there, else a ConfigError naming ``option``.

    ``inputs`` are the run's own input files by the name the user gave them: writing
    over one would destroy what the run reads (a policy written over the outcomes it was
    learned from), whatever the spelling (relative, a symlink, a hard link).
    """
    for name, source in (inputs or {}).items():
        if source is not None and path.exists() and source.exists() and path.samefile(source):
            raise ConfigError(f"{option} {path}: is the {name} file; give another")
    if path.is_dir():
        raise ConfigError(f"{option} {path}: is a directory; give a file name")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{option} {path}: the file is not writable")
    parent = path.parent
    if not parent.exists():
        raise ConfigError(
            f"{option} {path}: the directory {parent} does not exist; create it first"
        )
    _check_writable_dir(parent, option, path)
    return path


def check_output_dir(path: Path, option: str) -> Path:
    """``path`` when it is, or can be created as, a writable directory."""
    existing = next(p for p in (path, *path.parents) if p.exists())
    _check_writable_dir(existing, option, path)
    return path


def _check_writable_dir(directory: Path, option: str, path: Path) -> None:
    if not directory.is_dir():
        raise ConfigError(f"{option} {path}: {directory} is not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {path}: the directory {directory} is not writable")


def exact_places(amounts: Iterable[Decimal | None], at_least: int) -> int:
    """The decimals that show every one of ``amounts`` exactly, and at least ``at_least``.

    The ledger sums exact picodollars, so amounts shown with these decimals add up as
    the ledger's do: a table's lines to its total, a line's levers to its saving.
    Rounded each to fewer decimals they may not, by a unit of the last decimal.
    """
    places = at_least
    for amount in amounts:
        if amount is not None:
            exponent = amount.normalize().as_tuple().exponent
            if isinstance(exponent, int):  # finite (the ledger has no NaN nor infinity)
                places = max(places, -exponent)
    return places


def dollars(amount: Decimal, places: int, *, signed: bool = False) -> str:
    """``amount`` with ``places`` decimals (from `exact_places`: exact), ``+`` if signed."""
    return f"{amount:{'+' if signed else ''}.{places}f}"


def percent(part: Decimal | int, whole: Decimal | int, places: int = 1) -> str:
    """``100 * part / whole`` with ``places`` decimals and a ``%``, rounded once from the
    exact figure as SQL rounds the ledger's sums (`dollars.rounded_percent`)."""
    return f"{rounded_percent(part, whole, places):.{places}f}%"
