"""Dev tooling: embedded PostgreSQL/Redis (`embedded`: one server; `servers`: the pair that `make run`
and the tests start), the `make run` supervisor (`runner`), `make migrate` against the embedded server
(`migrate`) and their process helpers (`_proc`).

A distribution of its own (`dev/pyproject.toml`), installed only with the root project's
`embedded` dependency group: the gateway, the converter and `acx.db.migrate` never import it.
"""
