"""Where a case stands in the recovery sequence, for the case page's stepper.

Reads the case as the services left it and says, per step, whether it is done,
what is next, and why a step cannot be taken yet. It decides nothing: the
services still refuse what is not allowed; this only explains it in advance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from bounceback.cases.models import Case
from bounceback.cases.selectors import TimerView
from bounceback.cases.services import case_check_can_close, cool_off_ends
from bounceback.errors import Conflict

# Step states: done; next (the one to do now); open (can be done, not the
# focus); waiting (possible later, or early with a reason); blocked; skipped.
DONE, NEXT, OPEN, WAITING, BLOCKED, SKIPPED = (
    "done",
    "next",
    "open",
    "waiting",
    "blocked",
    "skipped",
)

# The timers that measure each step.
STEP_TIMERS = {
    "apologise": ("apologise",),
    "fix": ("fix", "update"),
    "follow_up": ("follow_up",),
    "document": ("document",),
}

TIMER_LABELS = {
    "apologise": "Apology",
    "fix": "Fix or first update",
    "update": "Next progress update",
    "follow_up": "Follow-up",
    "document": "Documentation",
}


@dataclass
class Step:
    key: str
    number: int
    label: str
    state: str
    note: str = ""
    at: datetime | None = None
    timer: TimerView | None = None

    @property
    def actionable(self) -> bool:
        return self.state in {NEXT, OPEN, WAITING}

    @property
    def is_done(self) -> bool:
        return self.state == DONE


@dataclass
class Progress:
    steps: list[Step]
    cool_off_ends: datetime | None
    in_cool_off: bool
    can_close: bool
    close_reason: str

    def step(self, key: str) -> Step:
        return next(s for s in self.steps if s.key == key)

    @property
    def current(self) -> Step | None:
        return next((s for s in self.steps if s.state == NEXT), None)


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def _live_timer(timers: list[TimerView], kinds: tuple[str, ...]) -> TimerView | None:
    """The step's timer still counting (running, paused or overdue), the latest first."""
    live = [t for t in timers if t.kind in kinds and t.seconds_left is not None]
    return live[-1] if live else None


def review_done(case: Case) -> bool:
    if case.reviewed_at is None:
        return False
    return case.proposal_accepted is not None or not case.proposed_fix.strip()


def follow_up_answered(case: Case) -> bool:
    return bool(
        case.follow_up_sent_at
        and case.follow_up_recorded_at
        and case.follow_up_recorded_at >= case.follow_up_sent_at
    )


# Long on purpose: the five steps of the recovery sequence, one block each, in order;
# reading them top to bottom is reading the sequence.
def case_progress(*, case: Case, timers: list[TimerView], now: datetime | None = None) -> Progress:
    now = now or timezone.now()
    closed = case.status == Case.Status.CLOSED
    waiting = case.status == Case.Status.WAITING
    apologised = case.apologised_at is not None
    fixed = case.fixed_at is not None
    ends = cool_off_ends(case)
    in_cool_off = bool(ends and now < ends and case.follow_up_sent_at is None)

    def hold(default: str) -> str:
        if closed:
            return "Not done before the case was closed."
        if waiting:
            return "Waiting on the customer: resume the case to continue."
        return default

    steps: list[Step] = []

    # 1. Apologise.
    if apologised:
        score = f" · coach score {case.apology_score}" if case.apology_score is not None else ""
        steps.append(Step("apologise", 1, "Apologise", DONE, f"Sent{score}", case.apologised_at))
    else:
        state = BLOCKED if closed or waiting else NEXT
        steps.append(
            Step(
                "apologise",
                1,
                "Apologise",
                state,
                hold("A personal, sincere apology is the first reply."),
            )
        )

    # 2. Review: the complaint in the customer's view; closes when the fix is in.
    if review_done(case):
        steps.append(
            Step("review", 2, "Review", DONE, "Customer's view recorded", case.reviewed_at)
        )
    elif fixed or closed:
        note = "Started, not completed" if case.reviewed_at else "Not recorded before the fix"
        steps.append(Step("review", 2, "Review", SKIPPED, note, case.reviewed_at))
    elif not apologised or waiting:
        steps.append(Step("review", 2, "Review", BLOCKED, hold("Apologise first.")))
    else:
        note = (
            "Decide on the customer's proposal to complete it"
            if case.reviewed_at
            else "What went wrong, the impact, and what they propose"
        )
        steps.append(Step("review", 2, "Review", OPEN, note, case.reviewed_at))

    # 3. Fix, or keep the customer updated until fixed.
    if fixed:
        steps.append(Step("fix", 3, "Fix", DONE, case.fix_summary, case.fixed_at))
    elif not apologised or waiting or closed:
        steps.append(Step("fix", 3, "Fix", BLOCKED, hold("Apologise first.")))
    else:
        note = (
            f"Last update {timezone.localtime(case.last_update_at):%H:%M}"
            if case.last_update_at
            else "Fix it, or send a progress update"
        )
        steps.append(Step("fix", 3, "Fix", OPEN, note))

    # 4. Follow up after the cool-off, then record the answer.
    if follow_up_answered(case):
        note = "Customer is satisfied" if case.satisfied else "Customer is not satisfied"
        steps.append(Step("follow_up", 4, "Follow up", DONE, note, case.follow_up_recorded_at))
    elif case.follow_up_sent_at is not None:
        state = BLOCKED if waiting or closed else OPEN
        steps.append(
            Step(
                "follow_up",
                4,
                "Follow up",
                state,
                hold("Sent: record the customer's answer"),
                case.follow_up_sent_at,
            )
        )
    elif not fixed or waiting or closed:
        steps.append(Step("follow_up", 4, "Follow up", BLOCKED, hold("Fix the problem first.")))
    elif in_cool_off and ends is not None:
        when = timezone.localtime(ends)
        day = "" if when.date() == timezone.localtime(now).date() else f"{when:%d %b}, "
        steps.append(
            Step(
                "follow_up",
                4,
                "Follow up",
                WAITING,
                f"Follow up after the cool-off ends at {day}{when:%H:%M}",
            )
        )
    else:
        steps.append(Step("follow_up", 4, "Follow up", OPEN, "Ask if they walked away happy"))

    # 5. Document: root cause, what was done, how to prevent it.
    if case.documented_at is not None:
        steps.append(
            Step("document", 5, "Document", DONE, "Root cause recorded", case.documented_at)
        )
    elif closed:
        steps.append(Step("document", 5, "Document", SKIPPED, "Not documented"))
    elif fixed or case.follow_up_recorded_at is not None:
        steps.append(Step("document", 5, "Document", OPEN, "Root cause, what was done, prevention"))
    else:
        steps.append(Step("document", 5, "Document", BLOCKED, "Document once it is fixed."))

    # 6. Close.
    close_reason = ""
    try:
        case_check_can_close(case=case)
    except Conflict as refused:
        close_reason = _sentence(refused.message) + "."
    can_close = not close_reason
    if closed:
        steps.append(Step("close", 6, "Close", DONE, "Closed", case.closed_at))
    elif can_close:
        steps.append(Step("close", 6, "Close", OPEN, "Everything is done"))
    else:
        steps.append(Step("close", 6, "Close", BLOCKED, close_reason))

    for step in steps:
        kinds = STEP_TIMERS.get(step.key)
        if kinds and not step.is_done:
            step.timer = _live_timer(timers, kinds)

    # What is next: the first step that can be done now. Until the review is
    # complete it comes first; the fix may still go ahead beside it.
    if not any(s.state == NEXT for s in steps):
        for step in steps:
            if step.state == OPEN:
                step.state = NEXT
                break
    return Progress(
        steps=steps,
        cool_off_ends=ends,
        in_cool_off=in_cool_off,
        can_close=can_close,
        close_reason=close_reason,
    )
