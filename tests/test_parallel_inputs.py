"""The parallel path sends each replication's inputs back; the parent never re-samples."""

from __future__ import annotations

import numpy as np

from borderesim import simulate
from borderesim.run import drain, sampling
from tests.conftest import SCENARIOS


def test_workers_return_the_inputs_they_sampled(monkeypatch):
    serial = simulate(str(SCENARIOS / "land_crossing.yaml"), engine="fast", replications=2,
                      seed=3, keep_traces=True)

    def no_sampling(*args, **kwargs):
        raise AssertionError("the parent re-sampled a replication")

    # worker processes are fresh interpreters: only the parent sees these patches
    monkeypatch.setattr(sampling, "sample", no_sampling)
    monkeypatch.setattr(drain, "replayed_inputs", no_sampling)
    monkeypatch.setattr(drain, "replay", no_sampling)
    parallel = simulate(str(SCENARIOS / "land_crossing.yaml"), engine="fast", replications=2,
                        seed=3, keep_traces=True, workers=2)
    assert parallel.per_replication == serial.per_replication
    for (a_in, a_tr), (b_in, b_tr) in zip(serial.traces, parallel.traces, strict=True):
        assert np.array_equal(a_in.arrival, b_in.arrival)
        assert np.array_equal(a_in.service, b_in.service, equal_nan=True)
        assert np.array_equal(a_tr.lane, b_tr.lane)
        assert np.array_equal(a_tr.end, b_tr.end, equal_nan=True)
