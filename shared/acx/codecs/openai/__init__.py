"""OpenAI Chat Completions codec: ``decode`` (wire → model) and ``encode`` (model → wire)."""

from acx.codecs.openai.decode import decode
from acx.codecs.openai.encode import encode

__all__ = ["decode", "encode"]
