"""The shared kit every app's `api.py` builds on: who is calling and may they
(`auth`), the one error shape (`errors`, `schemas.ErrorOut`), cursor pages
(`pagination`) and the Idempotency-Key middleware (`idempotency`).

Rules for routers: each endpoint parses its input, checks the caller's scope,
calls one service or selector, and returns a schema. Creating calls are POSTs,
so the Idempotency-Key middleware covers them; list endpoints use `cursor_page`.
The routers are mounted in `bounceback/config/api.py`, never here: the kit
knows no app.
"""
