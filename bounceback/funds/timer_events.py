"""What an approval request does when its timer runs out.

Runs inside the timer worker's transaction (see timers/handlers.py): database
writes only; approvers are told through notifications. Each time the timer
runs out the request moves one level up with a fresh timer; at executive level
it stays and the executives are told again each time.
"""

from __future__ import annotations

from bounceback.funds.models import ApprovalRequest
from bounceback.funds.services import approval_timer_ran_out
from bounceback.timers.handlers import TimerEvent
from bounceback.timers.models import Timer


def on_approval_timer(timer: Timer, event: TimerEvent) -> None:
    if event == "warn":
        return
    request = ApprovalRequest.objects.filter(pk=timer.subject_id).first()
    if request is None:
        return
    approval_timer_ran_out(request=request, timer=timer)
