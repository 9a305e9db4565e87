"""Per-epoch bookkeeping of a training run: the cost/accuracy history and early stopping.

EpochHistory: after every epoch, the full-set train and dev cost J (data + regularization) and
accuracy, in test mode. In batch gradient descent without dropout or batch norm, the next
iteration's forward pass computes exactly the train-set ŷ of the epoch-end parameters, so the
trainer may leave the train entry *pending* and fill it from that forward (saving one full
forward pass per epoch); `pending` tells it an entry still waits.

Early stopping (course: "stop where dev error is lowest"): keep the parameters of the epoch with
the lowest dev cost; stop after `patience` epochs without a decrease of more than `min_delta`.
`early_stopping_message(info)` words the Trainer's early_stopping_info() for people.
"""
from __future__ import annotations

from typing import Callable, Optional

KEYS = ("train_cost", "dev_cost", "train_accuracy", "dev_accuracy")


class EpochHistory:
    """Lists train_cost, dev_cost, train_accuracy, dev_accuracy, one entry per epoch (None where a
    set is empty or, for accuracy, for regression): Trainer.history. (Not the cost curve drawn
    per frame and saved with a run: that is server/cost_curve.py's CostCurve.)"""

    def __init__(self):
        self.lists: dict[str, list] = {key: [] for key in KEYS}
        self.pending = False

    def add(self, train, dev) -> None:
        """Append one epoch; train=None leaves the train entry pending (fill_train later)."""
        self.lists["dev_cost"].append(dev.cost if dev else None)
        self.lists["dev_accuracy"].append(dev.accuracy if dev else None)
        self.lists["train_cost"].append(train.cost if train else None)
        self.lists["train_accuracy"].append(train.accuracy if train else None)
        self.pending = train is None

    def fill_train(self, cost: float, accuracy: Optional[float]) -> None:
        self.lists["train_cost"][-1] = cost
        self.lists["train_accuracy"][-1] = accuracy
        self.pending = False

    def last(self, key: str):
        values = self.lists[key]
        return values[-1] if values else None




class EarlyStopping:
    """Tracks the best dev cost; `update` returns True when training should stop."""

    def __init__(self, patience: int, min_delta: float = 0.0):
        self.patience, self.min_delta = patience, min_delta
        self.best_cost = float("inf")
        self.best_epoch: Optional[int] = None
        self.best_parameters = None
        self.wait = 0

    def update(self, epoch: int, dev_cost: float, copy_parameters: Callable[[], object]) -> bool:
        """Record epoch's dev cost: an improvement (dev_cost < best − min_delta) keeps a copy of
        the parameters and resets the wait; otherwise stop once `patience` epochs passed."""
        if dev_cost < self.best_cost - self.min_delta:
            self.best_cost, self.best_epoch, self.wait = dev_cost, epoch, 0
            self.best_parameters = copy_parameters()
            return False
        self.wait += 1
        return self.wait >= self.patience

    def info(self, stopped_epoch: Optional[int]) -> dict:
        """patience, min_delta, best_epoch (None before the first epoch), best_dev_cost,
        epochs_without_improvement (since best_epoch) and stopped_epoch (given: the epoch counter
        when the run stopped, None while it has not): what early_stopping_message words."""
        return {"patience": self.patience, "min_delta": self.min_delta, "best_epoch": self.best_epoch,
                "best_dev_cost": self.best_cost if self.best_epoch is not None else None,
                "epochs_without_improvement": self.wait, "stopped_epoch": stopped_epoch}


def continue_epochs(status: str, epoch: int, budget: int, max_epochs: int) -> Optional[int]:
    """How many more epochs a "done" or "stopped_early" run may be extended by (None otherwise,
    or when the budget cannot grow): the rest of the budget when early stopping ended the run
    before it, else the budget again, capped so it stays <= max_epochs."""
    if status not in ("done", "stopped_early"):
        return None
    more = budget - epoch if epoch < budget else min(budget, max_epochs - epoch)
    return more if more > 0 else None


def early_stopping_message(info: Optional[dict]) -> Optional[str]:
    """Why a run stopped early, in a sentence (None unless info says it stopped), e.g.
    "Stopped early at epoch 37: the dev cost has not improved for 10 epochs since its best,
    0.412 at epoch 27; the weights of epoch 27 are kept."  `info`: Trainer.early_stopping_info()."""
    if not info or info.get("stopped_epoch") is None or info.get("best_epoch") is None:
        return None
    best, waited = info["best_epoch"], info["epochs_without_improvement"]
    by = f" by more than {info['min_delta']:g}" if info.get("min_delta") else ""
    return (f"Stopped early at epoch {info['stopped_epoch']}: the dev cost has not improved{by} for "
            f"{waited} epoch{'s' if waited != 1 else ''} since its best, {info['best_dev_cost']:.3g} at "
            f"epoch {best}; the weights of epoch {best} are kept.")
