"""The one registry of strategies, and the schema types that read it when they validate.

``register_strategy(cls)`` adds a ``Strategy`` subclass to ``Strategy.registry`` (tag ->
class); nothing else is rewritten. ``AnyStrategy`` (a scenario's ``targeting``, each of
``layers``) and ``AnyFallback`` (a watchlist's ``fallback``: ``none``, ``all`` or any
strategy) validate a block against the registry as it is when validation runs, so a
strategy registered after the scenario schema was built is accepted in every place at
once. Errors read as a tagged union's would: the field path goes through the tag
(``targeting.layers.0.risk_score.shift``; ``scenario`` drops the tag when it words the
message) and an unknown tag lists the registered ones. The JSON Schema is generated from
the registry too, when it is asked for.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, GetCoreSchemaHandler, GetJsonSchemaHandler, Tag, TypeAdapter
from pydantic_core import core_schema

from .base import Strategy


def strategy(value: Any) -> str | None:
    """The tag of a targeting block (named so error messages read "unknown strategy").

    A string is its own tag (``none``/``all`` in a fallback); a block with ``layers``
    and no ``strategy`` is a ``layers`` block.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        tag = value.get("strategy")
        if tag is None and "layers" in value:
            return "layers"
        return tag if isinstance(tag, str) else None
    return getattr(value, "strategy", None)


def register_strategy(cls: type[Strategy]) -> type[Strategy]:
    """Make a ``Strategy`` subclass usable in scenario files (``strategy: its_name``),
    inside ``layers`` and as a watchlist ``fallback``; the workshop, the report,
    ``compare`` and the strategy kit read it from the registry. Usable as a class
    decorator; registering a tag again replaces the class.

    A strategy whose ``decide`` returns a ``PythonRule`` must set ``simpy_only`` (a
    reason), so ``--engine auto`` runs it with SimPy.
    """
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise TypeError(f"register_strategy takes a Strategy subclass, got {cls!r}")
    field = cls.model_fields.get("strategy")
    args = getattr(field.annotation, "__args__", ()) if field else ()
    if len(args) != 1 or not isinstance(args[0], str):
        raise TypeError(f"{cls.__name__} needs a field strategy: Literal['its_name']")
    Strategy.registry[args[0]] = cls
    return cls


_FALLBACK_WORDS = ("none", "all")
"""The fallbacks that are not strategies: nobody, or everybody, referred."""
_adapters: dict[tuple[Any, ...], TypeAdapter] = {}


def _adapter(words: tuple[str, ...]) -> TypeAdapter:
    """A tagged union of ``words`` (literal strings) and every registered strategy."""
    key = (words, *Strategy.registry.items())
    if key not in _adapters:
        members = [Annotated[Literal[w], Tag(w)] for w in words]
        members += [Annotated[cls, Tag(tag)] for tag, cls in Strategy.registry.items()]
        if not members:  # pragma: no cover - the built-ins are registered on import
            raise RuntimeError("no strategy is registered")
        union = Annotated[Union[tuple(members)], Discriminator(strategy)]  # noqa: UP007
        _adapters.clear()  # only the newest registry's unions are kept
        _adapters[key] = TypeAdapter(union)
    return _adapters[key]


_in_schema: ContextVar[frozenset[str]] = ContextVar("_in_schema", default=frozenset())
"""The unions whose JSON Schema is being generated (a union refers to itself through
``layers``)."""


class _Registered:
    """``Annotated`` marker: validate through the registry (with ``words`` allowed too)."""

    def __init__(self, words: tuple[str, ...] = ()) -> None:
        self.words = words
        self.ref = "Strategy" if not words else "Fallback"

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        words = self.words
        return core_schema.no_info_plain_validator_function(
            lambda value: _adapter(words).validate_python(value))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> dict[str, Any]:
        # the union (defined once, as $defs/Strategy) holds models that refer back to it
        # (layers): inside it, refer to the definition instead of generating it again
        ref = core_schema.definition_reference_schema(self.ref)
        busy = _in_schema.get()
        if self.ref in busy:
            return handler(ref)
        token = _in_schema.set(busy | {self.ref})
        try:
            union = {**_adapter(self.words).core_schema, "ref": self.ref}
            return handler(core_schema.definitions_schema(ref, [union]))
        finally:
            _in_schema.reset(token)


AnyStrategy = Annotated[Strategy, _Registered()]
"""Any registered strategy block, validated through ``Strategy.registry``."""
AnyFallback = Annotated[Strategy | Literal["none", "all"], _Registered(_FALLBACK_WORDS)]
"""What a watchlist does during outages: ``none``, ``all`` or any registered strategy."""
