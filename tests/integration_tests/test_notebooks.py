"""Run every notebook in notebooks/ top to bottom, as a reader would, and check what it shows.

Notebooks are stored without outputs, so only running them proves they still work. Each one
runs in a fresh ``python3`` kernel whose working directory is a temporary directory. A notebook
added to notebooks/ is picked up by the glob below; naming it in `KEY_OUTPUTS` is optional.

The kernel is the one of the interpreter running the tests, started from a kernelspec written
into a temporary directory: an installed ``python3`` kernelspec may launch whatever ``python``
comes first on PATH, which on a fresh machine or in CI need not be the one with this checkout.
"""

from __future__ import annotations

import os
import re
import sysconfig
import time
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
KERNEL_NAME = "python3"
CELL_TIMEOUT_S = 120

# Text a notebook's outputs must contain: evidence that it showed what its markdown promises.
KEY_OUTPUTS = {
    "cascade.ipynb": (
        "escalated: score",  # a failed quality check sent a request to the next tier
        "error: server",  # the injected HTTP 500 was recorded as an attempt
        "provider-b",  # and the tier's second provider answered
        "cascade behaved as described",
        "Saving vs always-gpt-4o",
        "saving 46.4% (costrouter report's figure)",  # the ledger's own reference, exact sums
    ),
    "quickstart.ipynb": ("reasoning", "total", "Saving vs the same tokens on gpt-4o"),
    "calibration.ipynb": (
        "Saving vs always-gpt-4-1106-preview",
        "every calibrated policy is at or below the oracle's quality",
        "saving 22.5% (costrouter demo and report's figures)",  # as README's demo block says
    ),
    "own_traffic.ipynb": (
        "dry run: nothing was sent",
        "stopped before the --max-cost-usd cap",
        "provider calls of the re-run",
        "status",  # the drift table
        "drift detected: the math task is below its promise",
        "shadow samples left out: ",  # calibrate --from-ledger's count on stderr, shown
        "recalibrated: the new policy keeps its promise",
        "Saving vs always-strong",
    ),
}

# The headline a notebook prints for a saving, e.g. "Saving vs always-gpt-4o: 47.9%".
SAVING_LINE = re.compile(r"^Saving vs [^:\n]+: (-?\d+(?:\.\d+)?)%$", re.MULTILINE)


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kernelspec directory holding ``python3`` = this interpreter's ipykernel."""
    specs = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(specs / KERNEL_NAME)
    return specs


def kernel_env() -> dict[str, str]:
    """The kernel imports this checkout and finds the ``costrouter`` script of this install."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PATH"] = os.pathsep.join(filter(None, [sysconfig.get_path("scripts"), env.get("PATH")]))
    return env


def execute(path: Path, kernel_specs: Path, workdir: Path) -> nbformat.NotebookNode:
    """Run every cell; nbclient raises `CellExecutionError` at the first cell that raises."""
    notebook = nbformat.read(path, as_version=4)
    manager = AsyncKernelManager(
        kernel_name=KERNEL_NAME,
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_specs)]),
    )
    client = NotebookClient(
        notebook,
        km=manager,
        kernel_name=KERNEL_NAME,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(workdir)}},
    )
    started = time.perf_counter()
    # We pass our own kernel manager, so ask nbclient to shut the kernel down all the same.
    client.execute(cleanup_kc=True, env=kernel_env())
    print(f"{path.name}: executed in {time.perf_counter() - started:.1f}s")
    return notebook


def output_text(notebook: nbformat.NotebookNode) -> str:
    """Everything the cells printed or displayed as text."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def error_outputs(notebook: nbformat.NotebookNode) -> list[str]:
    """Errors shown in outputs, including cells tagged to allow them (none should be)."""
    return [
        f"{output['ename']}: {output['evalue']}"
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]


def test_the_notebooks_this_test_expects_exist() -> None:
    names = {path.name for path in NOTEBOOKS}
    assert set(KEY_OUTPUTS) <= names, f"missing from notebooks/: {set(KEY_OUTPUTS) - names}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    """Outputs are produced by running, not committed: diffs stay small and reviewable."""
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells, "a notebook with no code proves nothing"
    assert all(not cell.outputs and cell.execution_count is None for cell in code_cells)
    assert notebook.metadata["kernelspec"]["name"] == KERNEL_NAME


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs_and_shows_its_results(
    path: Path, kernel_specs: Path, tmp_path: Path
) -> None:
    notebook = execute(path, kernel_specs, tmp_path)
    assert error_outputs(notebook) == []
    text = output_text(notebook)
    missing = [key for key in KEY_OUTPUTS.get(path.name, ()) if key not in text]
    assert not missing, f"{path.name} no longer shows {missing}"
    savings = [float(value) for value in SAVING_LINE.findall(text)]
    assert all(saving > 0 for saving in savings), f"{path.name} reports savings {savings}"
