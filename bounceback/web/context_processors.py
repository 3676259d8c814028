from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The sections shown in the top navigation, marking the current one."""
    path = request.path
    items = [
        ("Home", "/", path == "/"),
        ("Customers", "/customers/", path.startswith("/customers")),
        ("Transactions", "/transactions/", path.startswith("/transactions")),
    ]
    return {"nav_items": items}
