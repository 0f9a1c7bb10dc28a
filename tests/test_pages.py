"""A replication runs without NumPy's huge-page advice, and NumPy's setting comes back after."""

from __future__ import annotations

import pytest

from borderesim.model.scenario import load_scenario
from borderesim.run import drain, pages, simulate

pytestmark = pytest.mark.skipif(pages._numpy_advice is None,
                                reason="this NumPy has no huge-page switch")


def advice() -> bool:
    """NumPy's current huge-page advice (read by setting it back to what it was)."""
    now = pages._numpy_advice(True)
    pages._numpy_advice(now)
    return now


@pytest.fixture
def numpy_advice(monkeypatch):
    """NumPy's advice as the test sets it, restored after; NumPy's switch not in the env."""
    monkeypatch.delenv(pages.ENV, raising=False)
    before = advice()
    yield
    pages._numpy_advice(before)


@pytest.mark.parametrize("before", [True, False])
def test_advice_is_off_inside_and_restored_after(numpy_advice, before):
    pages._numpy_advice(before)
    with pages.small_pages():
        assert advice() is False
    assert advice() is before


def test_advice_is_restored_after_an_error(numpy_advice):
    pages._numpy_advice(True)
    with pytest.raises(RuntimeError), pages.small_pages():
        raise RuntimeError("boom")
    assert advice() is True


def test_numpys_own_switch_in_the_environment_is_left_alone(numpy_advice, monkeypatch):
    monkeypatch.setenv(pages.ENV, "1")
    pages._numpy_advice(True)
    with pages.small_pages():
        assert advice() is True


def test_a_replication_samples_replays_and_computes_kpis_without_the_advice(
        numpy_advice, monkeypatch):
    scenario = load_scenario("scenarios/cargo_terminal.yaml", ["duration=6h"])
    seen = []
    replay = drain.replay

    def spy(*args, **kwargs):
        seen.append(advice())
        return replay(*args, **kwargs)

    monkeypatch.setattr(drain, "replay", spy)
    pages._numpy_advice(True)
    plan = simulate.plan_of(scenario)
    kpis, _, _ = simulate.run_replication(scenario, plan, "fast", 1, 0)
    assert seen == [False]
    assert advice() is True
    monkeypatch.setattr(drain, "replay", replay)
    again, _, _ = simulate.run_replication(scenario, plan, "fast", 1, 0)
    assert again == kpis  # memory advice never changes a value
