"""Session and user ids (plus tags and metadata) carried through context variables, so every trace
recorded inside ``with metronis.context(session_id=..., user_id=...)`` gets them: across function
calls, threads started with ``contextvars.copy_context()``, and asyncio tasks (which copy the context
when they are created). Values given explicitly to ``trace(...)`` win over the context's.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass, field, replace
from typing import Iterator, Mapping, Sequence


@dataclass(frozen=True)
class TraceContext:
    session_id: str | None = None
    user_id: str | None = None
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)


_current: contextvars.ContextVar[TraceContext] = contextvars.ContextVar("metronis_trace_context", default=TraceContext())


def current_context() -> TraceContext:
    return _current.get()


@contextlib.contextmanager
def context(
    *,
    session_id: str | None = None,
    user_id: str | None = None,
    tags: Sequence[str] = (),
    metadata: Mapping[str, str] | None = None,
) -> Iterator[TraceContext]:
    """Sets the ids for the traces recorded inside the block; nested blocks add to the outer one."""
    outer = _current.get()
    inner = replace(
        outer,
        session_id=session_id if session_id is not None else outer.session_id,
        user_id=user_id if user_id is not None else outer.user_id,
        tags=outer.tags + tuple(t for t in tags if t not in outer.tags),
        metadata={**outer.metadata, **(metadata or {})},
    )
    token = _current.set(inner)
    try:
        yield inner
    finally:
        _current.reset(token)


def set_session_id(session_id: str | None) -> None:
    """Sets the session id for the rest of the current context (e.g. a request handler)."""
    _current.set(replace(_current.get(), session_id=session_id))


def set_user_id(user_id: str | None) -> None:
    """Sets the user id for the rest of the current context."""
    _current.set(replace(_current.get(), user_id=user_id))
