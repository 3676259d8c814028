"""What the demo's customers and staff say to each other.

Believable texts, placeholders filled by the generator: {event}, {product},
{vehicle}, {order}, {first} (customer's first name), {staff} (staff first name),
{site}. Most replies are decent apologies; a few are the clichés the apology
coach exists to catch, so it has something to find.
"""

from __future__ import annotations

VENUE_COMPLAINTS = (
    (
        "Sound at {event}",
        "We could barely hear the first half of {event}. The speakers on the left side kept "
        "crackling and nobody from staff came even though we waved at an usher twice.",
    ),
    (
        "Seats at {event}",
        "Our tickets said row F but we were put behind a pillar and saw maybe half the stage. "
        "For what we paid I expected better.",
    ),
    (
        "Doors opened late",
        "Doors for {event} opened 40 minutes late and we queued in the rain with two small "
        "children. No one explained why.",
    ),
    (
        "Parking",
        "The car park was full by 6:30 and the overflow lot was locked. We missed the start "
        "of {event}.",
    ),
    (
        "Refund for {event}?",
        "My daughter was ill and we could not come to {event}. Your site says no refunds, but "
        "surely you can offer a credit for another show?",
    ),
    (
        "Box office was rude",
        "The person at the box office was short with my mother, who is 82 and slow with her "
        "phone. Please have a word.",
    ),
)
WORKSHOP_COMPLAINTS = (
    (
        "My {vehicle} was not ready",
        "I called at 4pm to say I was on my way for my {vehicle}, only to hear that the "
        "technician had called in sick and nothing had been done. Why did nobody ring me?",
    ),
    (
        "Paint does not match",
        "Picked up my {vehicle} after the {product}. In daylight the new panel is clearly a "
        "different shade. I want it redone.",
    ),
    (
        "Charged more than quoted",
        "The quote for {product} was one figure and the bill another, with no call in "
        "between to ask me. Please explain the difference.",
    ),
    (
        "Warning light again",
        "Two days after the {product} the warning light is back on my {vehicle}.",
    ),
    (
        "Booking moved twice",
        "This is the second time my appointment for the {vehicle} has been moved the day "
        "before. I had taken the day off work.",
    ),
)
DEPOT_COMPLAINTS = (
    (
        "Where is order {order}?",
        "Tracking for order {order} has said 'at depot' for four days. The {product} was "
        "needed for a competition this weekend.",
    ),
    (
        "Wrong size in order {order}",
        "The {product} in order {order} is the wrong size. I need an exchange quickly.",
    ),
    (
        "Parcel left in the rain",
        "The driver left order {order} on the step in the rain and the box was soaked through.",
    ),
    (
        "Damaged {product}",
        "The {product} arrived with a torn seam. Very disappointing.",
    ),
)
SUBSCRIPTION_COMPLAINTS = (
    (
        "Charged twice this month",
        "I have been charged twice for my {product} this month. Please refund one.",
    ),
    (
        "Cancel my plan",
        "I asked to cancel my {product} in the spring and I am still being billed.",
    ),
)
# Chronic complainers write often, about small things, and rarely let go.
CHRONIC_VENUE_COMPLAINTS = (
    (
        "Late start, again",
        "Once again the programme for {event} started five minutes late. This is the third "
        "time I have mentioned it.",
    ),
    (
        "Temperature in the hall",
        "The hall was far too cold during {event}. I wore my coat the entire time. I expect "
        "a partial refund.",
    ),
    (
        "Hand dryer",
        "The hand dryer in the ladies' room is too loud. I have complained about this before.",
    ),
    (
        "Queue at the bar",
        "Twenty minutes to buy a bottle of water at the interval of {event}. Unacceptable.",
    ),
)
CHRONIC_GENERAL_COMPLAINTS = (
    (
        "Your newsletter",
        "Your newsletter had a typo in the headline. Standards are slipping.",
    ),
    (
        "Still waiting",
        "I am still waiting for an answer to my last three messages.",
    ),
    (
        "Invoice format",
        "Why does the invoice for {product} not show the tax separately? I need it itemised.",
    ),
)
CHRONIC_FOLLOW_UPS = (
    "That is not good enough. I will be posting a review.",
    "I note you did not address my actual point.",
    "Thank you, but this keeps happening.",
)
# Old-school customers ignore the chat widget and write proper letters by email.
OLD_SCHOOL_EMAILS = (
    (
        "Please use email",
        "Dear Sir or Madam, your reply came as a link to a chat window. I do not use chat. "
        "Kindly reply to me by email, as I have written to you. Yours faithfully, {name}",
    ),
    (
        "Question about my booking",
        "Good afternoon. Could you confirm by email the time of my booking and whether there "
        "is step-free access? I would rather not use the website. Regards, {name}",
    ),
)
VIP_NOTES = (
    "Books the Grand Hall for the annual gala; wants one named contact.",
    "Fleet account: six vans serviced on rotation.",
    "Studio director; enters 30+ dancers each championship.",
    "Board member of the Bayport Arts Trust.",
)
CHRONIC_NOTES = (
    "Writes after most visits. Be patient, answer every point, document everything.",
    "Has asked for refunds on several occasions; check the history before offering one.",
)
OLD_SCHOOL_NOTES = (
    "Prefers email. Please don't push the chat widget.",
    "Old-school: writes long emails, expects a written reply the same day.",
)

GOOD_REPLIES = (
    "Dear {first}, I am sorry: {issue_short} should not have happened, and it is on us, "
    "not you. I have {fix}. To stop it happening again we are {prevention}. I will check "
    "back with you on Friday. {staff}",
    "Hi {first}, thank you for telling us, and I apologise. You are right that "
    "{issue_short} fell short of what we promised. I have {fix}, and {prevention}. "
    "If that does not put it right, reply here and I will call you. {staff}",
    "{first}, I am sorry we let you down. I have read your message twice and {fix}. "
    "We are also {prevention}, so the next visit goes the way it should. {staff}",
)
CLICHE_REPLIES = (
    "Dear customer, we apologise for any inconvenience caused. Your feedback is important "
    "to us. Regards, {staff}",
    "Hi {first}, sorry if you feel that way. Our policy does not allow refunds for this. {staff}",
    "We regret any inconvenience this may have caused. {staff}",
)
FIXES = (
    "refunded the difference to your card",
    "added a $25 credit to your account",
    "booked you two complimentary tickets for the next show",
    "rebooked your car for tomorrow at 8am with a courtesy car",
    "sent a replacement by express courier today",
    "waived the delivery fee",
)
PREVENTIONS = (
    "adding a check to our opening routine",
    "calling every customer the moment a job slips, not when they chase us",
    "moving the route to a dry depot when the river is high",
    "briefing the whole team on this at tomorrow's stand-up",
)
PHONE_NOTES = (
    'Called {first} about "{subject}"; left a voicemail with my direct number.',
    "Spoke to {first}: apologised, explained what happened, agreed the fix. Calm by the end.",
    "Called back as promised. {first} is happy with the outcome.",
)

# Recovered well, customers often say so: the service recovery paradox at work.
THANKS = (
    "Thank you, that is more than fair. We will be back.",
    "Appreciate the quick answer and the call. All sorted now.",
    "Thanks {staff}, that was handled really well.",
)

# Past breakdowns the history remembers, each a day many customers complained.
PAST_POWER_CUT = (
    "The lights went out during {event}",
    "Halfway through {event} the power cut out and we sat in the dark for twenty minutes. "
    "The emergency lights came on but nobody told us what was happening.",
)
PAST_FLOOD = (
    "Order {order} stuck by the flood?",
    "I heard the Lower Valley road flooded. Order {order} was due three days ago and no one "
    "has told me anything.",
)
PAST_SICK_DAY = (
    "Nothing done on my {vehicle}",
    "I arrived to pick up my {vehicle} and was told the technician had called in sick, so "
    "nothing had been done. A phone call would have saved me the trip.",
)
