"""Wrappers that record LLM client calls as traces: ``wrap_openai`` and ``wrap_anthropic``."""

from .anthropic import wrap_anthropic
from .openai import wrap_openai

__all__ = ["wrap_anthropic", "wrap_openai"]
