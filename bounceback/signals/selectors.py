from __future__ import annotations

from bounceback.signals.models import Signal


def signal_score(signal: Signal) -> str | None:
    """The score a signal carries, as a person reads it ("NPS 3", "2 stars")."""
    if signal.nps is not None:
        return f"NPS {signal.nps}"
    if signal.csat is not None:
        return f"CSAT {signal.csat}/5"
    if signal.rating is not None:
        stars = f"{signal.rating.normalize():f}"
        return f"{stars} star{'' if signal.rating == 1 else 's'}"
    return None


def signal_summary(signal: Signal) -> str:
    """One line for timelines and lists: what kind, what happened, the score."""
    parts = [signal.get_kind_display()]
    if signal.event:
        parts.append(signal.event.replace("_", " "))
    score = signal_score(signal)
    if score:
        parts.append(score)
    return " · ".join(parts)
