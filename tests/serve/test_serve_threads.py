"""The shared network behind `Predictor`'s lock: threads at once get what one thread gets.

Without the lock these threads fail (a layer's ``X`` and buffers are another request's: wrong
numbers or a shape error), as a loop of ``network.predict`` calls from 8 threads shows.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd

from nnctl.serve.app import Limits, Predictor
from nnctl.store.model import load_model
from tests.helpers import DATASETS


def test_threads_sharing_one_predictor_get_their_own_answers(serve_iris: Path) -> None:
    predictor = Predictor(load_model(serve_iris))
    rng = np.random.default_rng(0)
    frame = pd.read_csv(DATASETS / "iris.csv").drop(columns="species")
    bodies = []
    for n in [1, 7, 60, 300] * 10:
        rows = frame.sample(n, replace=True, random_state=int(rng.integers(1 << 30)))
        split = {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}
        bodies.append(json.dumps({"dataframe_split": split, "params": {"proba": True}}).encode())
    expected = [predictor.predictions("application/json", b, {}, Limits()) for b in bodies]
    wrong: list[int] = []
    failures: list[BaseException] = []

    def work(first: int) -> None:
        try:
            for k in range(first, len(bodies), 8):
                for _ in range(5):
                    got = predictor.predictions("application/json", bodies[k], {}, Limits())
                    if got != expected[k]:
                        wrong.append(k)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads)
    assert failures == [] and wrong == []
