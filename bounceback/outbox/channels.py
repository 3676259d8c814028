"""Delivery adapters, one per channel.

An adapter sends one message or raises DeliveryError; `permanent=True` means
retrying cannot help (a malformed address, a mailbox that does not exist), so
the message fails at once. Each channel's app registers its adapter in its
`apps.py` (email: `bounceback.mail.sending.EmailAdapter`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bounceback.outbox.models import OutboundMessage


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class ChannelAdapter(Protocol):
    """How one channel delivers. An adapter may also define `available() -> bool`
    (for example: a provider is configured for it); without it the adapter is
    always available."""

    def send(self, message: OutboundMessage) -> None: ...


# Filled by each channel's app in its apps.py (email by mail, web by portal, ...).
_ADAPTERS: dict[str, ChannelAdapter] = {}


def adapter_register(channel: str, adapter: ChannelAdapter) -> None:
    _ADAPTERS[channel] = adapter


def adapter_for(channel: str) -> ChannelAdapter | None:
    return _ADAPTERS.get(channel)


def adapter_usable(channel: str) -> bool:
    """Whether messages can be delivered on `channel` right now."""
    adapter = _ADAPTERS.get(channel)
    if adapter is None:
        return False
    available = getattr(adapter, "available", None)
    return bool(available()) if callable(available) else True


def usable_channels() -> frozenset[str]:
    """Every channel messages can be delivered on right now.

    Ask once per page or per wave and pass the answer down: an adapter's
    `available()` may read the database. Adapters of one family (the JSON
    webhook adapter serves chat, social and SMS) may offer a shared
    `usable_kinds()` that answers for all their channels in one go.
    """
    usable: set[str] = set()
    families: dict[Any, frozenset[str]] = {}
    for channel, adapter in _ADAPTERS.items():
        family = getattr(adapter, "usable_kinds", None)
        if callable(family):
            if family not in families:
                families[family] = frozenset(family())
            if channel in families[family]:
                usable.add(channel)
        elif adapter_usable(channel):
            usable.add(channel)
    return frozenset(usable)
