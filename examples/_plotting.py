"""Plotting shared by the examples: matplotlib without a display, figures under examples/output/.

Not an example itself; the examples import it from their own folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def pyplot() -> Any:
    """``matplotlib.pyplot`` drawing to files (the Agg backend, no display needed).

    Raises ImportError where matplotlib is not installed; the examples print a note then.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | Path) -> None:
    """Lay ``fig`` out, write it to ``path`` (making its folder) at 100 dpi, and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save_curves(history: dict[str, list[float]], path: str | Path, title: str,
                held_out: str = "test") -> None:
    """Training curves, one point per epoch: the loss on a log scale (and the held-out
    cross-entropy where ``history`` records ``test_loss``), then train and held-out accuracy."""
    plt = pyplot()
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["loss"], label="training loss (J)")
    if "test_loss" in history:
        ax1.plot(epochs, history["test_loss"], label=f"{held_out} cross-entropy")
    ax1.set_xlabel("epoch")
    ax1.set_yscale("log")
    ax1.legend()
    ax2.plot(epochs, history["train_acc"], label="train")
    ax2.plot(epochs, history["test_acc"], label=held_out)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy")
    ax2.legend()
    fig.suptitle(title)
    save_figure(fig, path)
