"""Anthropic Messages codec: ``decode`` (wire → model) and ``encode`` (model → wire)."""

from acx.codecs.anthropic.decode import decode
from acx.codecs.anthropic.encode import encode

__all__ = ["decode", "encode"]
