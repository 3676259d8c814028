"""The REST API: one NinjaAPI with a router per domain app.

Rules for routers: each endpoint parses its input, calls `require_scope`, then
one service or selector, and returns a schema. Creating calls are POSTs, so the
Idempotency-Key middleware covers them; list endpoints use `cursor_page`.
"""

from __future__ import annotations

from ninja import NinjaAPI

from bounceback.api.auth import api_auth
from bounceback.api.errors import install_error_handlers

api = NinjaAPI(
    title="Bounceback API",
    version="1",
    description=(
        "Service recovery platform API. Authenticate with `Authorization: Bearer <token>` "
        "(create tokens with `bounceback token create`) or a signed-in session with CSRF. "
        "Every creating call accepts an `Idempotency-Key` header: the same key and body "
        "give the same answer and never a second row. Errors are JSON: "
        "`{code, message, field, errors}`."
    ),
    auth=api_auth,
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_error_handlers(api)

from bounceback.background.api import router as deliveries_router  # noqa: E402
from bounceback.breakdowns.api import router as breakdowns_router  # noqa: E402
from bounceback.cases.api import coach_router  # noqa: E402
from bounceback.cases.api import router as cases_router  # noqa: E402
from bounceback.customers.api import router as customers_router  # noqa: E402
from bounceback.failuremodes.api import router as failuremodes_router  # noqa: E402
from bounceback.funds.api import router as funds_router  # noqa: E402
from bounceback.interactions.api import router as interactions_router  # noqa: E402
from bounceback.mail.api import router as mail_router  # noqa: E402
from bounceback.playbooks.api import router as playbooks_router  # noqa: E402
from bounceback.segments.api import router as segments_router  # noqa: E402
from bounceback.transactions.api import router as transactions_router  # noqa: E402
from bounceback.webhooks.api import router as webhooks_router  # noqa: E402

api.add_router("/customers", customers_router)
api.add_router("/transactions", transactions_router)
api.add_router("/interactions", interactions_router)
api.add_router("/cases", cases_router)
api.add_router("/coach", coach_router)
api.add_router("/catalog", failuremodes_router)
api.add_router("/playbooks", playbooks_router)
api.add_router("/breakdowns", breakdowns_router)
api.add_router("/mail", mail_router)
api.add_router("/webhooks", webhooks_router)
api.add_router("/funds", funds_router)
api.add_router("/segments", segments_router)
api.add_router("/deliveries", deliveries_router)
