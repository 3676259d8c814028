"""The demo business's playbooks: one for each of its high-risk failure modes.

Each answers a failure mode from the demo catalog (found by title; loaded just
before this) and a breakdown type, so the playbooks load even without the
catalog. Written through the services, so every template passes the apology
coach like a real one must. "Phone system down" has two versions, to show the
history.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings

from bounceback.failuremodes.models import FailureMode
from bounceback.playbooks.services import PlaybookContent, playbook_create, playbook_revise

POWER_OUTAGE = "Power outage at an event"


def _templates(language: str, bodies: dict[str, tuple[str, str]]) -> list[dict[str, str]]:
    return [
        {"purpose": purpose, "channel": "email", "language": language, "subject": s, "body": b}
        for purpose, (s, b) in bodies.items()
    ]


def _money(amount: str) -> Decimal:
    return Decimal(amount)


CURRENCY = settings.BOUNCEBACK_CURRENCY


def _compensation(
    all_kind: str, all_amount: str, all_text: str, vip_kind: str, vip_amount: str, vip_text: str
) -> list[dict[str, Any]]:
    return [
        {
            "segment": "all",
            "kind": all_kind,
            "amount": _money(all_amount),
            "currency": CURRENCY,
            "description": all_text,
        },
        {
            "segment": "vip",
            "kind": vip_kind,
            "amount": _money(vip_amount),
            "currency": CURRENCY,
            "description": vip_text,
        },
    ]


POWER_EN = {
    "apology": (
        "We're sorry: the power outage stopped your event at {{ site.name }}",
        "Dear {{ customer.first_name }},\n\nI'm sorry: a power outage at {{ site.name }} stopped "
        "the event you came for on {{ window.start }}. Keeping the show running is our job, and "
        "that failure is ours, not yours.",
    ),
    "explanation": (
        "",
        "The building lost mains power and our backup supply could not carry the lights, sound "
        "and doors safely, so we stopped the event. We are finding out exactly what failed and "
        "will fix it and test it before the next event so this does not happen again.",
    ),
    "alternatives": (
        "",
        "We will refund your tickets in full, or you can keep them for the rescheduled date we "
        "will email you by tomorrow. Reply to this message (reference {{ case.reference }}) to "
        "choose; you do not need to call.",
    ),
    "status_update": (
        "Update on the power outage at {{ site.name }}",
        "Dear {{ customer.first_name }}, an update on the power outage: the utility is working "
        "on the fault and we will write again within the hour with the decision on tonight's "
        "event.",
    ),
    "all_clear": (
        "Power is back at {{ site.name }}",
        "Dear {{ customer.first_name }}, power is back at {{ site.name }} and the backup supply "
        "is tested. Your refund or new date stands as agreed. Thank you for bearing with us.",
    ),
}

POWER_ES = {
    "apology": (
        "Lo sentimos: el corte de luz detuvo su evento en {{ site.name }}",
        "Estimado/a {{ customer.first_name }}:\n\nLo sentimos mucho: un corte de luz en "
        "{{ site.name }} detuvo el evento del {{ window.start }}. Mantener el evento en marcha es "
        "responsabilidad nuestra, y ese fallo es nuestro, no suyo.",
    ),
    "explanation": (
        "",
        "El edificio se quedó sin suministro eléctrico y el sistema de reserva no pudo mantener "
        "la luz, el sonido y las puertas con seguridad, así que detuvimos el evento. Vamos a "
        "averiguar qué falló, repararlo y probarlo antes del próximo evento para que no vuelva "
        "a pasar.",
    ),
    "alternatives": (
        "",
        "Le devolveremos el importe completo de sus entradas, o puede conservarlas para la nueva "
        "fecha que le enviaremos mañana. Responda a este mensaje (referencia {{ case.reference }}) "
        "para elegir.",
    ),
    "status_update": (
        "Novedades sobre el corte de luz en {{ site.name }}",
        "Estimado/a {{ customer.first_name }}: la compañía eléctrica está reparando la avería. "
        "Le escribiremos de nuevo dentro de una hora con la decisión sobre el evento.",
    ),
    "all_clear": (
        "Ha vuelto la luz en {{ site.name }}",
        "Estimado/a {{ customer.first_name }}: ha vuelto la luz en {{ site.name }} y el "
        "sistema de reserva está probado. Su reembolso o nueva fecha se mantiene. Gracias por su "
        "paciencia.",
    ),
}

TECHNICIAN_EN = {
    "apology": (
        "We're sorry: your repair at {{ site.name }} is delayed",
        "Dear {{ customer.first_name }},\n\nI'm sorry: the technician booked for your car is off "
        "sick and we did not have cover ready, so your repair will not be finished when we "
        "promised. That is our planning failure.",
    ),
    "explanation": (
        "",
        "Only one of our technicians is certified for this work, and we should have had a "
        "second on call. We are training a second technician and adding an on-call rota so a "
        "sick day never stops the work again.",
    ),
    "alternatives": (
        "",
        "We will give you a courtesy car at no cost until your car is ready, and call you by "
        "5 pm today with the new finish date. If you would rather take the car elsewhere, we "
        "will waive the diagnostic fee. Quote {{ case.reference }} when you reply.",
    ),
    "status_update": (
        "Update on your repair",
        "Dear {{ customer.first_name }}, an update: a relief technician starts on your car "
        "tomorrow morning. We will call you as soon as it is ready.",
    ),
    "all_clear": (
        "Your car is ready",
        "Dear {{ customer.first_name }}, your car is ready to collect from {{ site.name }}. "
        "Please keep the courtesy car until you can come in. Thank you for your patience.",
    ),
}

WEATHER_EN = {
    "apology": (
        "We're sorry: your order is delayed by the weather",
        "Dear {{ customer.first_name }},\n\nI'm sorry: your order is delayed because the weather "
        "flooded our route out of {{ site.name }}, and we did not warn you before it was due. "
        "We let you down on the delivery date we promised.",
    ),
    "explanation": (
        "",
        "Roads around the depot were closed by flooding and the shipments could not leave. We "
        "should have told you the moment we knew. We are adding a second depot route and "
        "automatic delay alerts so you hear from us first in future.",
    ),
    "alternatives": (
        "",
        "We will refund the shipping charge today and send your order by express courier as "
        "soon as the roads open. If you no longer need it, reply with {{ case.reference }} and "
        "we will refund the whole order.",
    ),
    "status_update": (
        "Update on your delayed order",
        "Dear {{ customer.first_name }}, an update: the roads are reopening and delayed "
        "shipments are being loaded. We will send your tracking number as soon as it leaves.",
    ),
    "all_clear": (
        "Your order is on its way",
        "Dear {{ customer.first_name }}, your order has left {{ site.name }} by express courier. "
        "Your shipping refund has been processed. Thank you for waiting.",
    ),
}

PHONE_EN = {
    "apology": (
        "We're sorry: our phone system is down",
        "Dear {{ customer.first_name }},\n\nI'm sorry: our phone system is down, so you could "
        "not reach us when you called. That failure is ours and it should not have left you "
        "waiting.",
    ),
    "explanation": (
        "",
        "Our phone provider had an outage and our backup line did not take over. We are adding "
        "a second provider so the phone system does not go down like this again.",
    ),
    "alternatives": (
        "",
        "We will call you back as soon as the lines are up. Until then, reply to this email "
        "with {{ case.reference }} or use the chat on our website, and we will answer within "
        "the hour.",
    ),
    "status_update": (
        "Update on our phone system",
        "Dear {{ customer.first_name }}, our phone lines are still down. Email and web chat are "
        "working and answered within the hour. We will write again when the phones are back.",
    ),
    "all_clear": (
        "Our phones are back",
        "Dear {{ customer.first_name }}, our phone system is back. If we owe you a call back, "
        "it is booked. Thank you for your patience.",
    ),
}


def _action(title: str, role: str, minutes: int, details: str = "") -> dict[str, Any]:
    return {"title": title, "owner_role": role, "target_minutes": minutes, "details": details}


PLAYBOOKS: list[dict[str, Any]] = [
    {
        "name": POWER_OUTAGE,
        "failure_mode": "Power outage during an event",
        "breakdown_type": "power outage",
        "content": {
            "applies_when": "A venue loses power, or the generator fails, during or just before "
            "an event, and the event cannot run as booked.",
            "backup_resources": "Bayport Generator Hire (24-hour line) can deliver a 250 kVA "
            "generator within 90 minutes. Riverside Hall can host up to 300 guests at short "
            "notice. Battery lighting for evacuation is in the stage-left store.",
            "escalation_contacts": [
                {
                    "name": "Marta Okafor",
                    "role": "Venue manager, Grand Hall",
                    "phone": "+1 410 555 0142",
                    "email": "marta.okafor@harbourside.example",
                },
                {
                    "name": "Bayport Generator Hire",
                    "role": "Generator contractor",
                    "phone": "+1 410 555 0199",
                },
                {
                    "name": "Bayport Electric outage line",
                    "role": "Utility",
                    "phone": "+1 800 555 0110",
                },
            ],
            "actions": [
                _action(
                    "Confirm the outage and everyone's safety with the venue manager",
                    "lead",
                    5,
                    "Walk the exits; battery lighting on; nobody in the lifts.",
                ),
                _action("Call the utility and the generator contractor", "manager", 10),
                _action(
                    "Announce to the audience what is happening",
                    "lead",
                    10,
                    "From the stage with the battery PA; say when the next update comes.",
                ),
                _action("Decide: delay, move to Riverside Hall, postpone or cancel", "manager", 30),
                _action(
                    "Message affected ticket holders",
                    "agent",
                    30,
                    "Confirm the outreach from the breakdown page once the decision is made.",
                ),
                _action("Post the status on the website and social accounts", "agent", 45),
            ],
            "templates": _templates("en", POWER_EN) + _templates("es", POWER_ES),
            "compensations": _compensation(
                "refund",
                "85.00",
                "Ticket refund, up to the standard ticket price",
                "voucher",
                "50.00",
                "Full refund plus a voucher for the next event",
            ),
            "change_note": "First version, from the 2023 Grand Hall outage review",
        },
    },
    {
        "name": "Technician off sick",
        "failure_mode": "Technician off sick",
        "breakdown_type": "staff shortage",
        "content": {
            "applies_when": "A workshop technician is off sick and booked repairs cannot be "
            "finished on the promised day.",
            "backup_resources": "Relief technicians from Bayport Auto Staffing (same-day, "
            "certified for body work). Courtesy cars: four at the workshop.",
            "escalation_contacts": [
                {
                    "name": "Leon Marsh",
                    "role": "Workshop manager",
                    "phone": "+1 410 555 0176",
                    "email": "leon.marsh@harbourside.example",
                },
                {
                    "name": "Bayport Auto Staffing",
                    "role": "Relief technicians",
                    "phone": "+1 410 555 0123",
                },
            ],
            "actions": [
                _action("List the jobs booked for the absent technician this week", "lead", 15),
                _action("Book a relief technician", "manager", 60),
                _action("Offer courtesy cars to customers without transport", "agent", 60),
                _action("Message affected customers with new finish dates", "agent", 90),
            ],
            "templates": _templates("en", TECHNICIAN_EN),
            "compensations": _compensation(
                "waived_fee",
                "45.00",
                "Diagnostic fee waived",
                "credit",
                "100.00",
                "Credit towards the next service",
            ),
            "change_note": "First version",
        },
    },
    {
        "name": "Shipments delayed by weather",
        "failure_mode": "Shipments delayed by weather",
        "breakdown_type": "weather delay",
        "content": {
            "applies_when": "Storms or flooding stop shipments leaving Dockside Depot on time.",
            "backup_resources": "Express courier account (Harbour Express); the Riverside "
            "storeroom holds two days of the most-ordered stock.",
            "escalation_contacts": [
                {
                    "name": "Priya Natarajan",
                    "role": "Depot lead",
                    "phone": "+1 410 555 0188",
                    "email": "priya.natarajan@harbourside.example",
                },
                {"name": "Harbour Express", "role": "Courier", "phone": "+1 410 555 0155"},
            ],
            "actions": [
                _action("Confirm which routes are closed and for how long", "lead", 30),
                _action("List the orders due to ship in the window", "agent", 30),
                _action("Book express couriers for the first day the roads open", "manager", 120),
                _action("Message affected customers", "agent", 60),
            ],
            "templates": _templates("en", WEATHER_EN),
            "compensations": _compensation(
                "refund",
                "9.95",
                "Shipping charge refunded",
                "voucher",
                "25.00",
                "Shipping refunded plus a voucher",
            ),
            "change_note": "First version",
        },
    },
    {
        "name": "Phone system down",
        "failure_mode": "Phone system down",
        "breakdown_type": "phone outage",
        "content": {
            "applies_when": "Customers cannot reach us by phone for more than 15 minutes.",
            "backup_resources": "Web chat and email stay up; two prepaid mobiles in the office "
            "safe for urgent call-backs.",
            "escalation_contacts": [
                {
                    "name": "Sam Ito",
                    "role": "IT support",
                    "phone": "+1 410 555 0130",
                    "email": "it@harbourside.example",
                },
            ],
            "actions": [
                _action("Confirm the phones are down and call the provider", "lead", 10),
                _action("Put the outage banner on the website", "agent", 15),
                _action("Message customers who called in the last hour", "agent", 30),
            ],
            "templates": _templates("en", PHONE_EN),
            "compensations": _compensation(
                "credit",
                "5.00",
                "Account credit with the call-back",
                "credit",
                "10.00",
                "Account credit",
            ),
            "change_note": "First version",
        },
    },
]

# After the first outage the team added the backup carrier to the checklist.
PHONE_REVISION: dict[str, Any] = {
    "actions": [
        _action("Confirm the phones are down and call the provider", "lead", 10),
        _action(
            "Switch the main number to the backup carrier",
            "manager",
            20,
            "Divert in the carrier portal; test by calling from a mobile.",
        ),
        _action("Put the outage banner on the website", "agent", 15),
        _action("Message customers who called in the last hour", "agent", 30),
        _action("Book call-backs for everyone who left a voicemail", "agent", 60),
    ],
    "escalation_contacts": [
        {
            "name": "Sam Ito",
            "role": "IT support",
            "phone": "+1 410 555 0130",
            "email": "it@harbourside.example",
        },
        {"name": "Lighthouse Telecom", "role": "Backup carrier", "phone": "+1 800 555 0177"},
    ],
    "change_note": "Added the backup carrier after the March outage",
}


def load_playbooks() -> int:
    """Load the playbooks for the high-risk failure modes; returns how many."""
    count = 0
    for spec in PLAYBOOKS:
        failure_mode = FailureMode.objects.filter(title=spec["failure_mode"]).first()
        playbook = playbook_create(
            actor=None,
            name=spec["name"],
            failure_mode=failure_mode,
            breakdown_type=spec["breakdown_type"],
            content=PlaybookContent.from_data(spec["content"]),
        )
        if spec["name"] == "Phone system down":
            playbook_revise(
                playbook=playbook,
                actor=None,
                content=PlaybookContent.from_data({**spec["content"], **PHONE_REVISION}),
            )
        count += 1
    return count
