"""Base class for every schema model: frozen, and unknown keys get a did-you-mean."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError


class Strict(BaseModel):
    """A frozen pydantic model that rejects unknown keys, suggesting the nearest known one."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = set(cls.model_fields) | {
                f.alias for f in cls.model_fields.values() if f.alias
            }
            for key in data:
                if key not in known:
                    text = str(key)
                    close = (difflib.get_close_matches(text, sorted(known), n=1)
                             if len(text) <= 100 else [])
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    raise PydanticCustomError(
                        "unknown_field",
                        "unknown field{hint}; allowed: {allowed}",
                        {"key": str(key), "hint": hint, "allowed": ", ".join(sorted(known))},
                    )
        return data
