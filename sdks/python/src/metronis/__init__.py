"""Metronis for Python: send the traces of LLM calls to Metronis for evaluation, and read them back.

Two lines for an OpenAI app (``METRONIS_API_KEY`` and ``METRONIS_BASE_URL`` in the environment)::

    from metronis import wrap_openai
    client = wrap_openai(OpenAI())

See the package README for the client, ``@observe``, context ids, and OpenTelemetry (OTLP) export.
"""

from ._context import context, current_context, set_session_id, set_user_id
from ._errors import MetronisError, NotAvailableError
from ._transport import RetryPolicy
from .client import AsyncMetronis, Metronis, build_trace, get_client, new_trace_id, set_default_client
from .integrations import wrap_anthropic, wrap_openai
from .observe import Observation, current_observation, observation, observe

__version__ = "0.1.0"

__all__ = [
    "AsyncMetronis",
    "Metronis",
    "MetronisError",
    "NotAvailableError",
    "Observation",
    "RetryPolicy",
    "build_trace",
    "context",
    "current_context",
    "current_observation",
    "get_client",
    "new_trace_id",
    "observation",
    "observe",
    "set_default_client",
    "set_session_id",
    "set_user_id",
    "wrap_anthropic",
    "wrap_openai",
]
