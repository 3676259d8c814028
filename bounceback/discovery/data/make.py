"""Writes the negativity scorer's labelled set: train.jsonl, dev.jsonl, test.jsonl.

Run `.venv/bin/python -m bounceback.discovery.data.make` after changing it, then
retrain (`-m bounceback.discovery.train`). Every sentence is written here by
hand or composed from the hand-written parts below: customer messages to a
service business (deliveries, venues and events, garages, restaurants, phone
and broadband, banks, hotels, trains and buses), labelled 1 when a person
reads a complaint or distress in it and 0 otherwise (questions, requests,
thanks, praise, plain news). Negations ("no problems at all", "not happy") and
polite complaints ("kindly refund me") are there on purpose. Nothing is taken
from the airline tweets that bench/negativity.py measures on.

The split is by template: test.jsonl's templates and hand-written lines are
never seen in training or tuning (the held-out part bench/ reports).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).parent

THINGS = [
    "order",
    "parcel",
    "delivery",
    "package",
    "booking",
    "reservation",
    "table",
    "ticket",
    "room",
    "car",
    "repair",
    "appointment",
    "train",
    "bus",
    "connection",
    "broadband",
    "phone line",
    "invoice",
    "account",
    "subscription",
    "refund",
    "replacement",
    "meal",
    "concert",
    "show",
    "course",
    "installation",
    "pickup",
    "transfer",
    "check-in",
]
STAFF = [
    "the driver",
    "your agent",
    "the technician",
    "the waiter",
    "the receptionist",
    "the manager",
    "the mechanic",
    "your support team",
    "the guard",
    "the host",
    "the courier",
    "the staff at the desk",
    "your call centre",
    "the conductor",
]
PLACES = [
    "the depot",
    "the Grand Hall",
    "the north branch",
    "your shop",
    "the station",
    "the hotel",
    "the garage",
    "the restaurant",
    "the venue",
    "the airport desk",
    "the service centre",
    "your website",
    "the app",
    "the box office",
]
DURATIONS = [
    "two hours",
    "45 minutes",
    "three days",
    "a week",
    "an hour",
    "ten days",
    "90 minutes",
    "four hours",
    "two weeks",
    "all afternoon",
    "since Monday",
    "since 8am",
]
DAYS = ["Monday", "Friday", "tomorrow", "next week", "Saturday", "the 14th", "tonight"]
GOOD = [
    "great",
    "lovely",
    "brilliant",
    "excellent",
    "so helpful",
    "amazing",
    "fantastic",
    "really kind",
    "quick",
    "spot on",
    "perfect",
    "friendly",
]
BAD = [
    "terrible",
    "awful",
    "useless",
    "a disgrace",
    "appalling",
    "ridiculous",
    "shocking",
    "unacceptable",
    "a joke",
    "pathetic",
    "the worst",
    "horrible",
    "dreadful",
]

NEGATIVE = [
    "My {thing} is {dur} late and nobody has told me anything",
    "I have been on hold for {dur}, this is {bad}",
    "Still waiting for my {thing} after {dur}",
    "{Staff} was rude and hung up on me",
    "You charged me twice for the {thing} and nobody answers",
    "My {thing} was cancelled without any notice",
    "The {thing} arrived broken and the box was soaked",
    "Kindly refund me, the {thing} never turned up",
    "Please refund my {thing}, I waited at {place} for {dur} for nothing",
    "Would you kindly explain why my {thing} was cancelled again?",
    "Not happy at all with the {thing}",
    "I am not happy, {staff} never showed up",
    "Why is my {thing} still not here? It has been {dur}",
    "Your service is {bad}",
    "Worst {thing} I have ever had",
    "Great, another {dur} delay. Thanks for nothing",
    "Lost my {thing} and no one at {place} can help",
    "Nobody picks up the phone at {place}",
    "Stuck at {place} for {dur} with no information",
    "Third time I am asking about my {thing}, still no answer",
    "{Staff} promised a call back {day} and never called",
    "Missed my {thing} because of your delay",
    "Absolutely {bad}. I want my money back",
    "The {thing} keeps failing and nobody fixes it",
    "I was told to wait {dur} and then told to come back {day}",
    "Overbooked again, we had nowhere to sit",
    "Cold food, wrong order and a {dur} wait",
    "I can't believe how {bad} {staff} was",
    "Never using you again after this {thing}",
    "How hard is it to deliver a {thing} on time?",
    "The line at {place} was {dur} long and only one desk open",
    "No refund, no apology, nothing",
    "Been trying to reach someone about my {thing} for {dur}",
    "Your app crashed and I lost my {thing}",
    "Disappointed that my {thing} was handled so badly",
    "I'm furious, my {thing} was given to someone else",
    "So my {thing} is delayed again?? Seriously?",
    "Hours on the phone and still no {thing}",
    "The {thing} was dirty and {staff} did not care",
    "I expected better, the {thing} was {bad}",
    "Could you please stop ignoring my emails about the {thing}",
    "Charged a fee I was never told about for my {thing}",
    "The {thing} was meant to be ready {day} and it still isn't",
    "Left waiting outside {place} in the rain for {dur}",
    "Sick of chasing you about my {thing}",
    "Terrible experience at {place} today",
]
NEUTRAL = [
    "Can I change my {thing} to {day}?",
    "What time does {place} open on {day}?",
    "Kindly send me the invoice for my {thing}",
    "Please let me know when my {thing} ships",
    "I would like to book a {thing} for {day}",
    "Is there parking near {place}?",
    "Do you deliver to the north side of town?",
    "Could you confirm my {thing} for {day}, please?",
    "How do I update the card on my {account}?",
    "Is {place} open on bank holidays?",
    "I'd like to add a second person to my {thing}",
    "Where can I find my {thing} number?",
    "We are moving house {day}, please update the address",
    "Can {staff} call me back {day} about the {thing}?",
    "Just checking the {thing} is still on for {day}",
    "Please cancel my {thing} for {day}, plans changed",
    "What is the luggage allowance for the {thing}?",
    "Arrived at {place}, see you in ten minutes",
    "Is it possible to pay for the {thing} in two parts?",
    "Sent you the documents for the {thing} by email",
    "New opening hours at {place} from {day}",
    "Our {thing} is booked for {day} at 7pm",
    "Do you have a vegetarian menu for the {thing}?",
    "Received the {thing} number, thank you",
]
POSITIVE = [
    "No problems at all, the {thing} was {good}",
    "Thanks, {staff} was {good}",
    "Loved the {thing}, thank you all",
    "Not bad at all, the {thing} was {good}",
    "Couldn't be happier with the {thing}",
    "The {thing} arrived early, {good} job",
    "Big thanks to {staff} at {place}",
    "{Staff} sorted it in minutes, {good}",
    "Never had a problem with you, keep it up",
    "Can't fault the {thing}, it was {good}",
    "Thank you for the quick refund on my {thing}",
    "Really impressed with {place}",
    "Nothing went wrong, smooth {thing} from start to finish",
    "Five stars for the {thing}",
    "Not a single issue with my {thing}",
    "Was worried about the {thing} but it was {good}",
    "Thank you for fixing my {thing} so fast",
    "Well done to {staff}, {good} service",
]
# Held out: never in train or dev. Hand-written, in other words than the templates.
TEST_NEGATIVE = [
    "the engineer didn't turn up, took a day off work for nothing",
    "Third voucher that doesn't scan at the till. Embarrassing at the checkout",
    "sat on the platform for an hour, no announcements, freezing",
    "when will someone actually read my complaint",
    "bill went up 30% and nobody warned us",
    "ordered the medium, got a small, and it was cold",
    "I don't usually complain but the room smelled of smoke and the AC was broken",
    "my grandmother waited 2 hours for a wheelchair that never came",
    "you lost my suitcase and now you won't return my calls",
    "ok so the courier just threw the box over the fence",
    "the chat bot keeps looping, I need a human",
    "four emails, zero replies. what is going on",
    "Booked for 8, seated at 9:15, food at 10",
    "please kindly sort out my refund, it has been a month",
    "this is the second time my appointment got moved without telling me",
    "nothing but excuses from your staff",
    "the heating in the hall failed and we froze through the whole concert",
    "would it be too much to ask for a working toilet on a 3 hour trip",
    "card declined at your machine but money left my account",
    "signal drops every evening and support says it's fine",
    "not impressed, paid extra for priority and waited like everyone else",
    "your tracking says delivered. it was not delivered.",
    "been overcharged on every bill since March",
    "no one at the desk, no one on the phone, no one anywhere",
    "the replacement part is wrong again",
]
TEST_NOT = [
    "hi, do you have availability for two on friday evening",
    "thanks so much, the new router works perfectly",
    "can you resend the confirmation to my work email",
    "the technician was lovely and explained everything",
    "is the car park at the venue free after 6",
    "we'd like to celebrate a birthday, can you do a cake",
    "no complaints here, the repair held up all winter",
    "what's the cut-off time for next-day delivery",
    "appreciate the quick reply",
    "just moved, how do I transfer my account",
    "got the refund this morning, thanks for sorting it",
    "kindly advise the opening hours on sunday",
    "the train was on time and spotless",
    "please add my husband to the booking",
    "would you mind sending the menu",
    "no issues with the install, all working",
    "the show was wonderful, we will be back",
    "can I bring my dog to the garden area",
    "received the parcel today, all good",
    "happy to confirm the order",
    "nothing wrong, just wanted to say the staff were great",
    "how long does a full service usually take",
    "any discounts for students",
    "the new app update is much faster, well done",
    "I'll be a few minutes late to my appointment, is that ok",
]


def _fill(template: str, rng: random.Random) -> str:
    staff = rng.choice(STAFF)
    text = template.format(
        thing=rng.choice(THINGS),
        Staff=staff[0].upper() + staff[1:],
        staff=staff,
        place=rng.choice(PLACES),
        dur=rng.choice(DURATIONS),
        day=rng.choice(DAYS),
        good=rng.choice(GOOD),
        bad=rng.choice(BAD),
        account=rng.choice(["account", "subscription", "membership"]),
    )
    # Messages arrive in every case and with and without end punctuation.
    roll = rng.random()
    if roll < 0.2:
        text = text.lower()
    elif roll < 0.3:
        text = text.rstrip(".?!") + rng.choice(["!", "!!", "."])
    return text


def build(seed: int = 15) -> dict[str, list[dict[str, object]]]:
    rng = random.Random(seed)
    templates = [(t, 1) for t in NEGATIVE] + [(t, 0) for t in NEUTRAL + POSITIVE]
    rng.shuffle(templates)
    # One template in five is held out for test; one in five of the rest for dev.
    test_t = templates[::5]
    rest = [t for i, t in enumerate(templates) if i % 5]
    dev_t = rest[::5]
    train_t = [t for i, t in enumerate(rest) if i % 5]
    out: dict[str, list[dict[str, object]]] = {"train": [], "dev": [], "test": []}
    for name, group, per in (("train", train_t, 30), ("dev", dev_t, 8), ("test", test_t, 8)):
        for template, label in group:
            seen: set[str] = set()
            for _ in range(per):
                text = _fill(template, rng)
                if text not in seen:
                    seen.add(text)
                    out[name].append({"text": text, "negative": label})
    out["test"] += [{"text": t, "negative": 1} for t in TEST_NEGATIVE]
    out["test"] += [{"text": t, "negative": 0} for t in TEST_NOT]
    for rows in out.values():
        rng.shuffle(rows)
    return out


def main() -> None:
    for name, rows in build().items():
        with (HERE / f"{name}.jsonl").open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(name, len(rows), sum(1 for r in rows if r["negative"]))


if __name__ == "__main__":
    main()
