"""How a training ends: Ctrl-C and SIGTERM stop it cleanly, and an error ending it is recorded.

`signals_stop` turns the first SIGINT or SIGTERM into a request to stop after the current batch;
`fit_recorded` runs the epochs and, when they end in an error, writes ``run.json``'s status
(``interrupted``, ``diverged`` or ``failed``) before the error reaches the command line.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from nnctl.errors import Interrupted, TrainingDiverged
from nnctl.training.trainer import Trainer
from nnctl.workflows.records import RunRecorder, now, run_summary


@contextmanager
def signals_stop(trainer: Trainer) -> Iterator[None]:
    """While training, SIGINT and SIGTERM ask the loop to stop after the current batch.

    A second signal stops at once (the last complete checkpoint is still on disk).
    """

    def handler(signum: int, frame: object) -> None:
        if trainer.interrupt_requested:
            raise KeyboardInterrupt
        trainer.request_interrupt()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def fit_recorded(
    trainer: Trainer, recorder: RunRecorder, finish: Callable[[], dict[str, float] | None]
) -> dict[str, float] | None:
    """Run the epochs and ``finish``; record how the run ended when it ends in an error.

    An interruption or a divergence carries the run's summary (`NnctlError.run_summary`), for
    ``nnctl train --json``.
    """
    try:
        with signals_stop(trainer):
            trainer.fit()
        return finish()
    except (Interrupted, KeyboardInterrupt) as error:
        recorder.write(status="interrupted", stop_reason="interrupted", ended=now())
        done = f"{trainer.epoch} complete epoch{'s' if trainer.epoch != 1 else ''}"
        interrupted = Interrupted(
            f"training interrupted; {recorder.run} holds {done}",
            hint=f"continue with: nnctl train --resume {recorder.run}",
        )
        interrupted.run_summary = run_summary(recorder.run, recorder.record, None)
        raise interrupted from error
    except TrainingDiverged as error:
        recorder.write(status="diverged", stop_reason=str(error), ended=now())
        error.hint = error.hint or "lower the learning rate, or normalize the inputs"
        error.run_summary = run_summary(recorder.run, recorder.record, None)
        raise
    except BaseException as error:
        recorder.write(status="failed", stop_reason=f"{type(error).__name__}: {error}", ended=now())
        raise
