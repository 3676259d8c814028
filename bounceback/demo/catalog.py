"""The demo business's failure-mode catalog: its journey, what goes wrong, and the votes.

Loaded through the catalog services like a real team would build it: the
manager sets up the touchpoints, staff propose failure modes, the manager
accepts them; two proposals are still being voted on and one was rejected.
Titles are unique across the demo so the case scripts (and the playbooks)
can find a failure mode by title alone.

The occurrence estimates are honest for most modes; two are not, on purpose,
so the catalog shows its "estimate disagrees" flag over the default 90 days:
"Fault not fixed first time" and "Wrong item or size packed" were scored as
rare, but the demo's cases say they happen monthly or more.
"""

from __future__ import annotations

from dataclasses import dataclass

from bounceback.accounts.models import User
from bounceback.demo import business as biz
from bounceback.failuremodes.models import FailureMode, Touchpoint
from bounceback.failuremodes.services import (
    failure_mode_accept,
    failure_mode_propose,
    failure_mode_reject,
    failure_mode_vote,
    touchpoint_create,
)
from bounceback.sites.models import Site


@dataclass(frozen=True)
class StageSpec:
    key: str
    name: str
    site: str | None  # site code; None for every site
    position: int
    description: str


@dataclass(frozen=True)
class ModeSpec:
    stage: str
    title: str
    severity: int
    occurrence: int
    detection: int
    effect: str
    cause: str
    proposed_by: str  # staff username


STAGES = (
    StageSpec(
        "booking", "Booking and tickets", None, 10, "Buying tickets, booking a slot or a hire."
    ),
    StageSpec("getting-here", "Getting here", None, 20, "Directions, parking, drop-off."),
    StageSpec(
        "arrival-gh", "Arrival and doors", biz.VENUE.code, 30, "Queues, box office, cloakroom."
    ),
    StageSpec("arrival-rh", "Arrival and doors", biz.SMALL_VENUE.code, 31, "Doors and the bar."),
    StageSpec("event-gh", "The event", biz.VENUE.code, 40, "The show, the gala, the competition."),
    StageSpec("event-rh", "The event", biz.SMALL_VENUE.code, 41, "Folk nights, recitals, parties."),
    StageSpec(
        "workshop", "The workshop visit", biz.WORKSHOP.code, 50, "Drop-off, the repair, pick-up."
    ),
    StageSpec(
        "delivery", "Delivery from the depot", biz.DEPOT.code, 60, "Picking, packing, the routes."
    ),
    StageSpec("billing", "Billing", None, 70, "Invoices, charges, refunds and plans."),
    StageSpec("contact", "Contacting us", None, 80, "Phones, inbox and chat for every site."),
)

# The four the playbooks answer come first; then the ones the demo's cases are linked to.
ACCEPTED = (
    ModeSpec(
        "event-gh",
        "Power outage during an event",
        9,
        2,
        8,
        "The hall goes dark mid-show; the audience waits without news.",
        "Street supply failure; the generator covers emergency lights but not the PA.",
        "lead",
    ),
    ModeSpec(
        "workshop",
        "Technician off sick",
        6,
        4,
        5,
        "Cars are not touched on the day promised; nobody calls.",
        "A small team: one absence leaves booked jobs with nobody to do them.",
        "tom.becker",
    ),
    ModeSpec(
        "delivery",
        "Shipments delayed by weather",
        6,
        4,
        5,
        "Orders stuck for days; customers find out when the parcel does not come.",
        "The Lower Valley road floods after heavy rain.",
        "diego.ramos",
    ),
    ModeSpec(
        "contact",
        "Phone system down",
        7,
        2,
        8,
        "Customers ring and get silence or an engaged tone, at every site.",
        "One hosted phone provider; no fallback number published.",
        "agent",
    ),
    ModeSpec(
        "event-gh",
        "Sound or AV fails during a show",
        6,
        4,
        6,
        "Speech or music drops out; a keynote's slides vanish.",
        "Ageing desk and projector; nobody on the floor can reach the sound desk quickly.",
        "lead",
    ),
    ModeSpec(
        "event-gh",
        "Hall too hot or too cold",
        3,
        4,
        4,
        "An uncomfortable evening in coats, or in the heat.",
        "Heating schedule set for an empty hall.",
        "lead",
    ),
    ModeSpec(
        "event-gh",
        "Show starts late",
        4,
        4,
        2,
        "Guests wait in their seats; late trains and babysitters.",
        "Bar queue at the doors holds back the start.",
        "lead",
    ),
    ModeSpec(
        "booking",
        "Seats not as sold",
        5,
        4,
        4,
        "The seats are double-booked, split up or not where the plan showed.",
        "Manual holds in the ticketing system are not released.",
        "agent",
    ),
    ModeSpec(
        "booking",
        "Entries placed in the wrong session",
        7,
        2,
        5,
        "Dancers turn up and are not in tonight's running order.",
        "Competition entries are re-keyed by hand into sessions.",
        "lead",
    ),
    ModeSpec(
        "booking",
        "Ticketing website down",
        7,
        2,
        4,
        "Customers cannot book, or pay twice trying.",
        "Single ticketing provider at peak on-sale times.",
        "agent",
    ),
    ModeSpec(
        "getting-here",
        "No parking near the venue",
        3,
        3,
        5,
        "Guests circle the block and miss the start.",
        "The nearby lot is sold to other events; nobody warns our guests.",
        "agent",
    ),
    ModeSpec(
        "arrival-gh",
        "Rude or unhelpful box-office staff",
        6,
        3,
        7,
        "A guest is treated badly before the show even starts.",
        "Untrained cover staff on busy nights.",
        "lead",
    ),
    ModeSpec(
        "arrival-gh",
        "Lift or step-free entrance out of order",
        8,
        2,
        6,
        "A wheelchair user cannot reach their seat.",
        "One lift; repairs take days.",
        "lead",
    ),
    ModeSpec(
        "arrival-rh",
        "Doors open late",
        4,
        3,
        3,
        "A queue outside in the cold.",
        "Sound check overruns; one key holder.",
        "lead",
    ),
    ModeSpec(
        "arrival-rh",
        "Card payments fail at the door",
        5,
        2,
        3,
        "Guests without cash are turned away from the bar and the door sales.",
        "One card reader on a weak connection.",
        "agent",
    ),
    ModeSpec(
        "event-rh",
        "Performer cancels on the day",
        7,
        2,
        9,
        "The night is cancelled and guests learn it at the door.",
        "Small acts with no understudy.",
        "lead",
    ),
    ModeSpec(
        "workshop",
        "Vehicle not ready when promised",
        6,
        4,
        6,
        "The customer arrives and the car (or the fleet van) is still on the lift.",
        "Jobs overrun and the promised time is not revisited.",
        "tom.becker",
    ),
    ModeSpec(
        "workshop",
        "Fault not fixed first time",
        7,
        2,  # scored as rare; the demo's cases say otherwise
        6,
        "The warning light comes back a day after collection.",
        "Sensors replaced without a road test.",
        "tom.becker",
    ),
    ModeSpec(
        "workshop",
        "Paint colour does not match",
        5,
        3,
        4,
        "A respray a shade off the rest of the car.",
        "Colour mixed from the code, not matched to the panel.",
        "sam.okafor",
    ),
    ModeSpec(
        "workshop",
        "Appointment moved by us",
        5,
        3,
        3,
        "The customer rearranges their week and we move the slot again.",
        "Bookings taken without checking parts and technician rota.",
        "tom.becker",
    ),
    ModeSpec(
        "workshop",
        "Parts not in stock",
        5,
        4,
        3,
        "The repair waits days for a part.",
        "Parts ordered at drop-off, not at booking.",
        "sam.okafor",
    ),
    ModeSpec(
        "workshop",
        "Courtesy car not available",
        4,
        3,
        3,
        "The customer is stranded while their car is in.",
        "Two courtesy cars for twenty jobs a day.",
        "tom.becker",
    ),
    ModeSpec(
        "delivery",
        "Order lost or late without word",
        5,
        4,
        4,
        "The customer chases a parcel nobody can find.",
        "Tracking stops at the depot door.",
        "diego.ramos",
    ),
    ModeSpec(
        "delivery",
        "Wrong item or size packed",
        4,
        2,  # scored as rare; the demo's cases say otherwise
        7,
        "The costume arrives in the wrong size the week of the show.",
        "Picking from look-alike bins; no check at packing.",
        "diego.ramos",
    ),
    ModeSpec(
        "delivery",
        "Parcel left out in the rain",
        4,
        3,
        8,
        "A soaked box at the gate.",
        "Drivers leave parcels when nobody answers.",
        "diego.ramos",
    ),
    ModeSpec(
        "delivery",
        "Product arrives damaged",
        5,
        3,
        6,
        "Broken or crushed goods.",
        "Light packing for heavy items.",
        "diego.ramos",
    ),
    ModeSpec(
        "delivery",
        "Delivery van breaks down",
        5,
        2,
        5,
        "A whole route's deliveries are a day late.",
        "An ageing van fleet.",
        "diego.ramos",
    ),
    ModeSpec(
        "billing",
        "Customer charged twice",
        6,
        4,
        4,
        "Two charges (or two deposits) for one purchase.",
        "Amending a booking re-raises the payment.",
        "agent",
    ),
    ModeSpec(
        "billing",
        "Bill higher than the quote",
        6,
        3,
        5,
        "The invoice is well above the price the customer agreed.",
        "Extra work done without calling the customer first.",
        "agent",
    ),
    ModeSpec(
        "billing",
        "Cancellation not honoured",
        6,
        3,
        5,
        "A cancelled plan keeps charging.",
        "Cancellations by email are not keyed into billing.",
        "agent",
    ),
    ModeSpec(
        "billing",
        "Invoice unclear or missing detail",
        3,
        3,
        5,
        "A company cannot get the invoice through its accounts team.",
        "One invoice template for every customer.",
        "agent",
    ),
    ModeSpec(
        "contact",
        "Messages go unanswered",
        6,
        3,
        7,
        "A customer writes three times and hears nothing.",
        "The shared inbox has no owner on weekends.",
        "agent",
    ),
)

# Still being voted on: (spec, votes as (username, value, comment)).
PROPOSED = (
    (
        ModeSpec(
            "event-gh",
            "Bar queue delays the second half",
            4,
            5,
            3,
            "The interval runs twenty minutes long.",
            "One bar open for 600 guests.",
            "agent",
        ),
        (
            ("lead", 1, "Every sold-out night."),
            ("diego.ramos", -1, "Only on sold-out nights: covered by 'Show starts late'."),
            ("sam.okafor", 1, ""),
        ),
    ),
    (
        ModeSpec(
            "delivery",
            "Courier misses the collection slot",
            5,
            3,
            6,
            "Orders wait a day at the depot.",
            "Chesapeake Freight collects at 3pm; packing finishes at 3.30.",
            "diego.ramos",
        ),
        (("agent", 1, "Customers ask about this every week."),),
    ),
)

REJECTED = (
    ModeSpec(
        "event-rh",
        "Customers dislike the new seat colours",
        2,
        3,
        9,
        "A few comments about the colour of the new seats.",
        "Refurbishment choice.",
        "agent",
    ),
    "A preference, not a service failure: passed to the venue team as feedback.",
)


def load_catalog() -> int:
    """Load touchpoints and failure modes; returns how many failure modes were accepted."""
    staff = {
        u.username: u for u in User.objects.filter(username__in=[s.username for s in biz.STAFF])
    }
    manager = staff["manager"]
    sites = {s.code: s for s in Site.objects.filter(code__in=[s.code for s in biz.SITES])}
    stages: dict[str, Touchpoint] = {
        spec.key: touchpoint_create(
            actor=manager,
            name=spec.name,
            description=spec.description,
            site=sites[spec.site] if spec.site else None,
            position=spec.position,
        )
        for spec in STAGES
    }

    def propose(spec: ModeSpec) -> FailureMode:
        return failure_mode_propose(
            actor=staff[spec.proposed_by],
            touchpoint=stages[spec.stage],
            title=spec.title,
            effect=spec.effect,
            cause=spec.cause,
            severity=spec.severity,
            occurrence=spec.occurrence,
            detection=spec.detection,
        )

    for spec in ACCEPTED:
        failure_mode_accept(
            failure_mode=propose(spec), actor=manager, reason="Agreed at the planning meeting."
        )
    for spec, votes in PROPOSED:
        mode = propose(spec)
        for username, value, comment in votes:
            failure_mode_vote(
                failure_mode=mode, voter=staff[username], value=value, comment=comment
            )
    spec, reason = REJECTED
    failure_mode_reject(failure_mode=propose(spec), actor=staff["lead"], reason=reason)
    return FailureMode.objects.accepted().count()
