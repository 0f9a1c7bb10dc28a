"""The conformance kit: what any engine and any strategy must satisfy.

* ``semantics``: the one statement of the model's semantics (its module docstring).
* ``cases``: hand-computed traces, at least one per engine rule of the semantics.
* ``engine_kit``: ``run_case(engine_run, case)`` and ``engine_failures(engine_run)``.
* ``strategy_kit``: ``check_strategy(strategy, scenario)``.
"""
