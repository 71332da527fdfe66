"""The notebooks run end to end on a fresh deployment (so they never rot) and are committed clean."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from punkml.config import cache_dir

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = ("data_analysis.ipynb", "train.ipynb")
# Text each notebook must print when it ran on the real data (not on an empty fallback).
EXPECTED_TEXT = {
    "data_analysis.ipynb": "325 beers,",
    "train.ipynb": "predicted IBU",
}
CELL_TIMEOUT_SECONDS = 240


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_without_outputs(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "a notebook without code"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes_without_errors(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUNKML_CACHE_DIR", str(cache_dir()))  # before $PUNKML_HOME changes it
    monkeypatch.setenv("PUNKML_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    # IPC sockets in the test's directory: the kernel listens on no TCP port at all.
    kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path / "kernel"))
    client = NotebookClient(
        notebook,
        km=kernel,
        timeout=CELL_TIMEOUT_SECONDS,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    started = time.monotonic()
    try:
        client.execute()  # raises CellExecutionError, naming the cell, on any error
    finally:
        # With its own kernel manager, nbclient leaves the client's channels open; closed here,
        # or the client's garbage collection logs a warning into whichever test runs then.
        if client.kc is not None:
            client.kc.stop_channels()
        if kernel.has_kernel:
            kernel.shutdown_kernel(now=True)
    elapsed = time.monotonic() - started
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/svg+xml" in o.get("data", {}) for o in outputs), "no figure was drawn"
    printed = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert EXPECTED_TEXT[name] in printed
    print(f"{name}: executed in {elapsed:.1f} s")
