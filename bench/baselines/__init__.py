"""Baselines the gateway and converter are compared with: HTTP ceiling, raw PostgreSQL, raw codecs."""
