"""Gemini generateContent codec: ``decode`` (wire → model) and ``encode`` (model → wire)."""

from acx.codecs.gemini.decode import decode
from acx.codecs.gemini.encode import encode

__all__ = ["decode", "encode"]
