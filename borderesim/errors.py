"""The one exception users see for bad input, and how it is worded."""

from __future__ import annotations


class ScenarioError(ValueError):
    """Bad scenario (or sweep, strategy, target) input.

    ``str(err)`` is the single line the CLI prints: ``FILE: FIELD.PATH: PROBLEM``.
    """

    def __init__(self, problem: str, source: str | None = None, path: str | None = None):
        self.problem = problem
        self.source = source
        self.path = path
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = [p for p in (self.source, self.path) if p]
        return ": ".join([*parts, self.problem])
