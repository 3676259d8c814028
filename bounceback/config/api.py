"""The project's REST API: the one NinjaAPI, and every app's router mounted on it.

Registration lives here, with the project configuration, so an app's `api.py`
depends only on the shared kit in `bounceback.api` (auth, errors, pagination,
schemas) and never on the other apps. The OpenAPI document of this API is
committed as `bounceback/api/openapi.json` (`make openapi`).
"""

from __future__ import annotations

from ninja import NinjaAPI, Router

from bounceback.api.auth import api_auth
from bounceback.api.errors import install_error_handlers
from bounceback.api.parser import CheckedParser
from bounceback.background.api import router as deliveries_router
from bounceback.breakdowns.api import router as breakdowns_router
from bounceback.cases.api import coach_router
from bounceback.cases.api import router as cases_router
from bounceback.customers.api import router as customers_router
from bounceback.dashboards.api import router as dashboards_router
from bounceback.discovery.api import router as discovery_router
from bounceback.drills.api import router as drills_router
from bounceback.failuremodes.api import router as failuremodes_router
from bounceback.funds.api import router as funds_router
from bounceback.interactions.api import router as interactions_router
from bounceback.learning.api import router as learning_router
from bounceback.loyalty.api import router as loyalty_router
from bounceback.mail.api import router as mail_router
from bounceback.playbooks.api import router as playbooks_router
from bounceback.replies.api import router as replies_router
from bounceback.savedviews.api import router as inbox_router
from bounceback.search.api import router as search_router
from bounceback.segments.api import router as segments_router
from bounceback.signals.api import router as signals_router
from bounceback.stories.api import router as stories_router
from bounceback.transactions.api import router as transactions_router
from bounceback.webhooks.api import router as webhooks_router

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
    parser=CheckedParser(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_error_handlers(api)

# Mounted in this order; a path's prefix is the app's place under /api/.
ROUTERS: dict[str, Router] = {
    "/customers": customers_router,
    "/transactions": transactions_router,
    "/interactions": interactions_router,
    "/cases": cases_router,
    "/coach": coach_router,
    "/catalog": failuremodes_router,
    "/playbooks": playbooks_router,
    "/breakdowns": breakdowns_router,
    "/mail": mail_router,
    "/webhooks": webhooks_router,
    "/funds": funds_router,
    "/segments": segments_router,
    "/loyalty": loyalty_router,
    "/deliveries": deliveries_router,
    "/search": search_router,
    "/inbox": inbox_router,
    "/replies": replies_router,
    "/signals": signals_router,
    "/discovery": discovery_router,
    "/learning": learning_router,
    "/stories": stories_router,
    "/dashboards": dashboards_router,
    "/drills": drills_router,
}
for prefix, router in ROUTERS.items():
    api.add_router(prefix, router)
