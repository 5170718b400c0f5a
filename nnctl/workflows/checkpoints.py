"""A run's checkpoints: ``best.npz`` and ``last.npz`` written as training goes, read on resume.

``last.npz`` holds everything a resume needs beyond the model bundle: the trainer's state (epoch,
RNG states, schedule, callbacks' state, history), the optimizer's arrays and early stopping's best
weights, so that a resumed run continues bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnctl.config.loader import Config
from nnctl.data import Preprocessor
from nnctl.errors import CheckpointError
from nnctl.store import model
from nnctl.store.bundle import is_checkpoint_file, load_bundle, save_bundle
from nnctl.store.metrics import MetricsFile, read_metrics
from nnctl.store.model import bundle_contents
from nnctl.store.runs import CHECKPOINTS, remove_stale_temporaries
from nnctl.training.callbacks import csv_row
from nnctl.training.monitors import EarlyStopping
from nnctl.training.trainer import Trainer
from nnctl.workflows.resume import check_epochs


class RunCheckpoints:
    """Writes and reads the run's checkpoints for the `Checkpointer`."""

    def __init__(self, run: Path, trainer: Trainer, preprocessor: Preprocessor, task: str) -> None:
        self.run = run
        self.trainer = trainer
        self.preprocessor = preprocessor
        self.task = task

    def save(self, kind: str, epoch: int) -> None:
        """Write ``checkpoints/<kind>.npz`` (``best`` or ``last``) of the ``epoch`` just done."""
        meta, groups = bundle_contents(self.trainer.network, self.preprocessor, self.task)
        meta["epoch"] = epoch
        if kind == "last":
            meta["training"], arrays = self.trainer.state_dict()
            groups = {**groups, **arrays, **self._early_stopping_weights()}
        save_bundle(self.run / CHECKPOINTS / f"{kind}.npz", meta, groups)

    def _early_stopping_weights(self) -> dict[str, dict[str, np.ndarray]]:
        for callback in self.trainer.callbacks:
            if isinstance(callback, EarlyStopping) and callback.best_weights is not None:
                return {"early_stopping": callback.best_weights}
        return {}

    def restore(self, metrics_file: MetricsFile, cfg: Config) -> None:
        """Continue from ``last.npz``: weights, optimizer, RNGs, schedule, callbacks, history.

        ``metrics.csv`` keeps its rows up to the checkpoint's epoch; a row the checkpoint has but
        the file lacks (a kill between the two writes), or every row of a damaged file, comes
        from the checkpoint's history.
        """
        remove_stale_temporaries(self.run)
        path = self.run / CHECKPOINTS / "last.npz"
        if not is_checkpoint_file(path):
            return  # stopped before the first epoch ended: start from the beginning
        bundle = load_bundle(path)
        model.check_finite(bundle, ("weights", "optimizer", "early_stopping"))
        check_epochs(self.run, int(bundle.meta.get("epoch", 0)), cfg, (), None)
        try:
            self.trainer.network.load_state_dict(bundle.group("weights"))
            self.trainer.load_state_dict(bundle.meta["training"], bundle.groups)
        except (KeyError, TypeError, ValueError) as error:
            raise CheckpointError(
                f"{path}: does not fit this run's network and config ({error})",
                hint="resume with the config the run was trained with",
            ) from None
        for callback in self.trainer.callbacks:
            if isinstance(callback, EarlyStopping) and bundle.group("early_stopping"):
                callback.best_weights = dict(bundle.group("early_stopping"))
        try:
            saved = {int(row["epoch"]): row for row in read_metrics(metrics_file.path)}
        except CheckpointError:
            saved = {}  # damaged: rebuilt from the checkpoint, which has every epoch's logs
        metrics_file.rows = [
            saved.get(epoch) or csv_row(epoch, logs)
            for epoch, logs in enumerate(self.trainer.history, start=1)
        ]
