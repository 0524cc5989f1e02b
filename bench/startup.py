"""Start-up cost: `costrouter --help`, `costrouter report` on a small ledger, and imports.

Every figure is a fresh process, measured round-robin with its baselines so that the
load of a shared machine hits all alike: ``python3 -c pass`` (the interpreter alone)
and ``import langchain_core`` (the framework every user already pays for). Commands
are whole processes, timed from outside (wall time, as a user waits); imports are
timed inside the process around the import statement alone. Targets: ``--help``
<= 0.3 s and ``report`` <= 1 s wall.

The commands run the console script's own code (``from langchain_costrouter.cli import
main``) under this interpreter, so a PATH shim (pyenv) does not add its own start-up.

Run: python bench/startup.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _timing import print_table

LEDGER_CALLS = 200
"""Routed calls recorded in the small ledger `costrouter report` reads."""

CLI = "import sys; from langchain_costrouter.cli import main; sys.exit(main())"
"""What the ``costrouter`` console script runs."""

TARGETS = {"costrouter --help": 0.3, "costrouter report (small ledger)": 1.0}
"""Wall-time targets in seconds."""


@dataclass(frozen=True)
class Figure:
    """One measurement over all rounds: its median, range and ratios to the baselines."""

    name: str
    kind: str  # "process" (wall time of a whole process) or "import" (inside the process)
    median: float
    low: float
    high: float
    baselines: dict[str, float]

    def ratio(self, baseline: str) -> float:
        return self.median / self.baselines[baseline]


def process_seconds(argv: Sequence[str]) -> float:
    """Wall time of one process, from start to exit; it must succeed."""
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def import_seconds(statement: str) -> float:
    """The time ``statement`` takes inside a fresh interpreter (its start-up excluded)."""
    code = (
        f"import time\nstart = time.perf_counter()\n{statement}\nprint(time.perf_counter() - start)"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(done.stdout)


def small_ledger(directory: Path, calls: int = LEDGER_CALLS) -> str:
    """A SQLite ledger holding ``calls`` routed calls, recorded by the router itself."""
    from langchain_core.messages import AIMessage

    from langchain_costrouter import RoutedChatModel
    from langchain_costrouter.testing import ScriptedChatModel

    url = f"sqlite:///{directory / 'ledger.sqlite3'}"
    usage = {"input_tokens": 120, "output_tokens": 8, "total_tokens": 128}
    child = ScriptedChatModel(
        model="gpt-4o-mini", provider="openai", answers=[AIMessage("ok", usage_metadata=usage)]
    )
    router = RoutedChatModel(
        routes={"chat": [child]}, default_task="chat", ledger=url, reference_model="gpt-4o"
    )
    for number in range(calls):
        router.invoke(f"question {number}")
    router.ledger_store.close()  # the background writer's last rows
    return url


@dataclass(frozen=True)
class Scenario:
    kind: str  # "process" or "import", as in `Figure`
    run: Callable[[], float]


def process(*argv: str) -> Scenario:
    return Scenario("process", partial(process_seconds, argv))


def import_of(statement: str) -> Scenario:
    return Scenario("import", partial(import_seconds, statement))


def scenarios(ledger_url: str) -> dict[str, Scenario]:
    """Every measurement by name; the baselines come first."""
    python = sys.executable
    return {
        "python3 -c pass": process(python, "-c", "pass"),
        "python3 -c 'import langchain_core'": process(python, "-c", "import langchain_core"),
        "python3 -c 'import langchain_costrouter'": process(
            python, "-c", "import langchain_costrouter"
        ),
        "costrouter --help": process(python, "-c", CLI, "--help"),
        "costrouter report (small ledger)": process(
            python, "-c", CLI, "report", "--ledger", ledger_url
        ),
        "import langchain_core": import_of("import langchain_core"),
        "import langchain_costrouter": import_of("import langchain_costrouter"),
        "import BaseChatModel": import_of(
            "from langchain_core.language_models import BaseChatModel"
        ),
        "import RoutedChatModel": import_of("from langchain_costrouter import RoutedChatModel"),
    }


def measure(rounds: int = 11) -> list[Figure]:
    """Every scenario ``rounds`` times, round-robin; medians, ranges and baselines."""
    with tempfile.TemporaryDirectory() as directory:
        runs = scenarios(small_ledger(Path(directory)))
        samples: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(rounds):
            for name, scenario in runs.items():
                samples[name].append(scenario.run())
    medians = {name: statistics.median(values) for name, values in samples.items()}
    baselines = {
        "python": medians["python3 -c pass"],
        "langchain_core process": medians["python3 -c 'import langchain_core'"],
        "langchain_core import": medians["import langchain_core"],
        "BaseChatModel import": medians["import BaseChatModel"],
    }
    return [
        Figure(name, runs[name].kind, medians[name], min(values), max(values), baselines)
        for name, values in samples.items()
    ]


def ratios(figure: Figure) -> tuple[str, str]:
    """Ratio to the interpreter and to langchain-core, for this figure's kind."""
    if figure.kind == "process":
        return f"{figure.ratio('python'):.2f}", f"{figure.ratio('langchain_core process'):.2f}"
    core = figure.ratio("langchain_core import")
    if figure.name == "import RoutedChatModel":
        return "-", f"{core:.2f} ({figure.ratio('BaseChatModel import'):.2f} x BaseChatModel)"
    return "-", f"{core:.3f}"


def print_figures(figures: Sequence[Figure]) -> None:
    rows = []
    for figure in figures:
        target = TARGETS.get(figure.name)
        verdict = (
            ""
            if target is None
            else f"<= {target} s: {'met' if figure.median <= target else 'NOT met'}"
        )
        rows.append(
            [
                figure.name,
                figure.kind,
                f"{figure.median:.3f}",
                f"{figure.low:.3f}-{figure.high:.3f}",
                *ratios(figure),
                verdict,
            ]
        )
    headers = [
        "measurement",
        "kind",
        "median s",
        "range s",
        "x python",
        "x langchain_core",
        "target",
    ]
    print_table(headers, rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11, help="runs of each measurement")
    args = parser.parse_args(argv)
    print_figures(measure(args.rounds))


if __name__ == "__main__":
    main()
