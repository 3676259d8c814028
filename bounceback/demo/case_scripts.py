"""What is said and written on the demo's cases, step by step.

One `Story` per kind of failure: the complaint, the apology the handler sends
(sincere, written to pass the apology coach), the review in the customer's
own words, progress updates, the fix, and the documentation. Placeholders are
filled by the planner: {first} (customer's first name), {staff} (handler's
first name), {event}, {product}, {vehicle}, {order}.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Story:
    code: str
    failure_mode: str  # the title of an accepted failure mode in the demo catalog (catalog.py)
    summary: str
    description: str
    apology: str
    what_went_wrong: str
    impact: str
    proposed_fix: str
    proposal_response: str
    updates: tuple[str, ...]
    fix_summary: str
    fixed_message: str
    root_cause: str
    what_was_done: str
    prevention_idea: str
    # When the first fix does not satisfy: what the customer says, what we do next.
    unhappy: str = "Thanks for the gesture, but it did not really solve the problem for me."
    second_fix: str = "Called the customer, listened again and put right what was still missing"
    # When we need something from the customer before we can go on.
    wait_reason: str = "Asked the customer for the booking details we need to go on"
    wait_reply: str = "Here are the details you asked for."


POWER_CUT = Story(
    code="power-cut",
    failure_mode="Power outage during an event",
    summary="The lights went out during {event}",
    description=(
        "Halfway through {event} the power cut out and we sat in the dark for twenty minutes. "
        "The emergency lights came on but nobody told us what was happening."
    ),
    apology=(
        "{first}, I am sorry: the power cut out halfway through {event} and you sat in the "
        "dark for twenty minutes without a word from us. The fault was in the street, but "
        "leaving you uninformed was our failure. I have refunded your tickets in full today. "
        "We are moving the public address system onto the generator so that this never "
        "happens again. {staff}"
    ),
    what_went_wrong=(
        "Mains power failed mid-concert. The emergency lights came on but there was no "
        "announcement for twenty minutes, so the audience sat in the dark not knowing whether "
        "to stay or leave."
    ),
    impact="Missed most of the second half; a night out spoiled and a worrying wait in the dark.",
    proposed_fix="A full refund rather than a credit note.",
    proposal_response="Agreed: full refund to the card used, processed today.",
    updates=(
        "Quick update, {first}: the refund for your {event} tickets is approved and goes back "
        "to your card today.",
        "{first}, the box office has processed the refund; I am just confirming the amount "
        "before I write again.",
    ),
    fix_summary="Full refund of the {event} tickets to the original card",
    fixed_message=(
        "{first}, the refund for your {event} tickets went through today and will show on your "
        "card within 3 to 5 working days. {staff}"
    ),
    root_cause=(
        "A utility fault on Quay Street cut mains power at 20:40. The generator started in 12 "
        "seconds, but the public address amplifier was on a non-emergency circuit, so the stage "
        "manager could not make an announcement for twenty minutes."
    ),
    what_was_done=(
        "Full refunds for everyone who complained, a personal call the next morning, and "
        "priority seats for the rescheduled concert."
    ),
    prevention_idea=(
        "Move the PA and house lights onto the generator circuit; keep a printed announcement "
        "card and a megaphone at the stage manager's desk; write a power-failure playbook and "
        "drill it every season."
    ),
    unhappy=(
        "The refund came, thank you, but nobody has told me what you are doing so it does not "
        "happen at the next concert. My mother is nervous about coming back."
    ),
    second_fix=(
        "Called to explain the generator changes and reserved two complimentary aisle seats "
        "near an exit for the next concert"
    ),
)

FLOOD = Story(
    code="flood",
    failure_mode="Shipments delayed by weather",
    summary="Order {order} stuck by the flood?",
    description=(
        "I heard the Lower Valley road flooded. Order {order} was due three days ago and no one "
        "has told me anything."
    ),
    apology=(
        "{first}, I'm sorry: the flood closed the Lower Valley road and your order {order} sat "
        "at the depot for three days while we told you nothing. We could not stop the flood, "
        "but the silence was our mistake. I have sent a replacement by courier on a dry route "
        "today, and from now on Lower Valley deliveries move to the Northside depot whenever "
        "the river is high. {staff}"
    ),
    what_went_wrong=(
        "The delivery van could not reach the Lower Valley route for three days; tracking kept "
        "saying 'at depot' and nobody contacted the customer."
    ),
    impact="The order was needed for a competition that weekend; the customer chased us twice.",
    proposed_fix="Send it another way today, or refund me.",
    proposal_response=(
        "Agreed: replacement by courier on the Northside route, delivery fee refunded."
    ),
    updates=(
        "Update, {first}: the replacement is packed and the courier collects it within the hour.",
        "{first}, the courier has the parcel; I will send the tracking number as soon as it "
        "is scanned.",
    ),
    fix_summary="Replacement sent by courier via Northside; delivery fee refunded",
    fixed_message=(
        "{first}, your replacement is on its way by courier and arrives tomorrow; the tracking "
        "number is below. We have refunded the delivery fee. {staff}"
    ),
    root_cause=(
        "The Lower Valley road was closed by flooding for three days. The depot had no rule for "
        "re-routing and no message ready, so affected customers heard nothing until they chased."
    ),
    what_was_done=(
        "Replacements by courier on the Northside route, delivery fees refunded, and a call to "
        "every customer on the flooded route."
    ),
    prevention_idea=(
        "Watch the river gauge: above the warning level, Lower Valley orders ship from Northside "
        "and customers get a text the same day."
    ),
    unhappy="The replacement came, but it was the wrong colour. Third time lucky?",
    second_fix="Sent the right colour by same-day courier; the customer keeps the other one free",
    wait_reason="Asked the customer to confirm a dry delivery address for the courier",
    wait_reply="Please send it to my office instead: 40 Harbour Front, Bayport.",
)

SICK_DAY = Story(
    code="sick-day",
    failure_mode="Technician off sick",
    summary="Nothing done on my {vehicle}",
    description=(
        "I arrived to pick up my {vehicle} and was told the technician had called in sick, so "
        "nothing had been done. A phone call would have saved me the trip."
    ),
    apology=(
        "{first}, I am sorry: you came to collect your {vehicle} and nothing had been done "
        "because our technician was off sick, and we did not call you. That was our failure, "
        "not his illness. I have rebooked your car for 8am tomorrow with a courtesy car until "
        "then, and from now on we phone every customer the moment a job slips. {staff}"
    ),
    what_went_wrong=(
        "The technician was off sick; his jobs were not reassigned and nobody phoned the "
        "customer, who made a wasted trip at the end of the day."
    ),
    impact="A wasted trip and a day without the car; had to ask a colleague for a lift to work.",
    proposed_fix="Finish the car tomorrow and lend me a car until then.",
    proposal_response="Agreed: courtesy car tonight, first in the bay tomorrow, 20% off the bill.",
    updates=(
        "Update, {first}: the courtesy car is ready at the front desk and your {vehicle} is "
        "first in the bay at 8am.",
    ),
    fix_summary="Courtesy car the same evening, job rebooked first thing, 20% off the bill",
    fixed_message=(
        "{first}, your {vehicle} is booked first thing tomorrow and a courtesy car is waiting "
        "for you at the desk. The bill will be 20% lower. {staff}"
    ),
    root_cause=(
        "Sam Okafor called in sick at 7:30. His jobs were not reassigned and nobody owned calling "
        "the customers, so they found out when they came to collect."
    ),
    what_was_done=(
        "Courtesy cars, next-morning slots and 20% off; the foreman called each customer himself."
    ),
    prevention_idea=(
        "When a technician is off, the foreman reassigns the day's jobs by 9am and the service "
        "desk phones every affected customer before 10am; a second technician is now on call."
    ),
    unhappy="The courtesy car was fine, but when I collected my car the bumper clip was loose.",
    second_fix="Refitted the bumper clip while the customer waited, with a free valet",
)

SOUND = Story(
    code="sound",
    failure_mode="Sound or AV fails during a show",
    summary="Sound at {event}",
    description=(
        "We could barely hear the first half of {event}. The speakers on the left side kept "
        "crackling and nobody from staff came even though we waved at an usher twice."
    ),
    apology=(
        "{first}, I'm sorry the speakers on the left side crackled through the first half of "
        "{event}, and that nobody came when you waved at an usher. That was our mistake twice "
        "over. I will refund half your tickets today, and our sound engineer now checks every "
        "speaker before doors open so this does not happen again. {staff}"
    ),
    what_went_wrong="Left-side speakers crackled for the whole first half; ushers did not act.",
    impact="Could not follow the first half of the show and felt ignored by staff.",
    proposed_fix="Half the ticket price back.",
    proposal_response="Agreed: 50% refund of the tickets.",
    updates=(
        "Update, {first}: I have spoken to the sound engineer and the ushers' lead; the partial "
        "refund is being processed now.",
    ),
    fix_summary="Half the ticket price refunded; ushers briefed on reaching the sound desk",
    fixed_message=(
        "{first}, the refund is done and shows on your card in a few days. Thank you for "
        "telling us. {staff}"
    ),
    root_cause=(
        "A damaged cable on the left speaker array; the pre-show sound check covered the right "
        "side only, and ushers had no quick way to reach the sound desk."
    ),
    what_was_done="Partial refund; cable replaced next morning; ushers given radios.",
    prevention_idea="Full left and right line check in the pre-show list; ushers carry radios.",
    unhappy="The money is back but you never said whether the speakers are fixed.",
    second_fix=(
        "Confirmed the cable replacement in writing and offered a seat check before the next show"
    ),
    wait_reason="Asked which seats they had, to check that speaker zone",
    wait_reply="We were in row K, seats 12 to 15.",
)

SEATS = Story(
    code="seats",
    failure_mode="Seats not as sold",
    summary="Seats at {event}",
    description=(
        "Our tickets said row F but we were put behind a pillar and saw maybe half the stage. "
        "For what we paid I expected better."
    ),
    apology=(
        "{first}, I'm sorry: your tickets for {event} said row F and we seated you behind a "
        "pillar with half the stage hidden. That's on us; the seating map we sold from was "
        "wrong. I have reserved two seats in row C for any show you choose this season, and we "
        "have corrected the map so restricted views are shown from now on. {staff}"
    ),
    what_went_wrong="Sold as row F, seated behind a pillar; the seating map hid the restriction.",
    impact="Saw half the stage at full price.",
    proposed_fix="Better seats at another show.",
    proposal_response="Agreed: two row C seats at a show of their choice.",
    updates=(
        "Update, {first}: the box office is holding row C for you; which show would you like?",
    ),
    fix_summary="Two complimentary row C seats for a show of the customer's choice",
    fixed_message="{first}, your row C seats are booked and the tickets are attached. {staff}",
    root_cause="The online seating map did not flag seats behind the pillar as restricted view.",
    what_was_done="Complimentary seats; seating map corrected.",
    prevention_idea="Mark restricted-view seats on the map and price them lower.",
    wait_reason="Asked which show they would like their replacement seats for",
    wait_reply="The Winter Nutcracker, please, any evening.",
)

DOORS = Story(
    code="doors",
    failure_mode="Doors open late",
    summary="Doors opened late",
    description=(
        "Doors for {event} opened 40 minutes late and we queued in the rain with two small "
        "children. No one explained why."
    ),
    apology=(
        "{first}, I'm sorry we kept you and your children queuing in the rain for 40 minutes "
        "at {event} with no explanation. We should have told the queue what was happening. I "
        "have added a $40 credit to your account today, and from now on a host walks the queue "
        "with news whenever doors are late. {staff}"
    ),
    what_went_wrong="Doors opened 40 minutes late; nobody told the queue why.",
    impact="Two small children cold and wet before the show.",
    proposed_fix="Some acknowledgement, and to be told next time.",
    proposal_response="Agreed: $40 credit and a host with the queue when doors are late.",
    updates=("Update, {first}: the credit is on your account now.",),
    fix_summary="$40 credit on the account",
    fixed_message="{first}, the $40 credit is on your account for your next booking. {staff}",
    root_cause=(
        "The stage rehearsal overran and front of house had no instruction to tell the queue."
    ),
    what_was_done="Account credit; apology to everyone in the queue that night.",
    prevention_idea="A host briefs the queue every ten minutes whenever doors are late.",
)

BOX_OFFICE = Story(
    code="box-office",
    failure_mode="Rude or unhelpful box-office staff",
    summary="Box office was rude",
    description=(
        "The person at the box office was short with my mother, who is 82 and slow with her "
        "phone. Please have a word."
    ),
    apology=(
        "{first}, I'm sorry the box office was short with your mother. She deserved patience "
        "and we failed her. I have spoken to the team member, and I will call your mother "
        "myself tomorrow to apologise. We are also retraining the box office team on helping "
        "guests with phone tickets, so this does not happen again. {staff}"
    ),
    what_went_wrong="A box office colleague was impatient with an elderly guest's phone ticket.",
    impact="The customer's mother was upset and embarrassed in front of the queue.",
    proposed_fix="An apology to my mother.",
    proposal_response="Agreed: a personal call to her tomorrow.",
    updates=("Update, {first}: I spoke to our box office lead this morning.",),
    fix_summary="Called the customer's mother to apologise; colleague coached",
    fixed_message="{first}, I called your mother this morning and we had a good chat. {staff}",
    root_cause="A single colleague on the box office during the rush; no paper-ticket fallback.",
    what_was_done="Personal apology call; coaching for the colleague.",
    prevention_idea=(
        "Two on the box office for the last 30 minutes; print-at-desk for phone tickets."
    ),
)

PARKING = Story(
    code="parking",
    failure_mode="No parking near the venue",
    summary="Parking",
    description=(
        "The car park was full by 6:30 and the overflow lot was locked. We missed the start "
        "of {event}."
    ),
    apology=(
        "{first}, I'm sorry: the overflow lot should have been open when the car park filled, "
        "and because it was locked you missed the start of {event}. That was our mistake. I "
        "have booked you two tickets for another show this season, and from now on the "
        "overflow lot opens an hour before doors. {staff}"
    ),
    what_went_wrong="The overflow car park stayed locked when the main car park filled up.",
    impact="Missed the start of the show.",
    proposed_fix="Tickets to make up for it.",
    proposal_response="Agreed: two tickets for a show of their choice.",
    updates=("Update, {first}: the tickets are reserved; I am just emailing them over.",),
    fix_summary="Two complimentary tickets for another show",
    fixed_message="{first}, your two tickets are attached. {staff}",
    root_cause="Opening the overflow lot was nobody's job on the duty sheet.",
    what_was_done="Complimentary tickets.",
    prevention_idea="The overflow lot opens an hour before doors on every show with 400+ sold.",
)

PAINT = Story(
    code="paint",
    failure_mode="Paint colour does not match",
    summary="Paint does not match",
    description=(
        "Picked up my {vehicle} after the {product}. In daylight the new panel is clearly a "
        "different shade. I want it redone."
    ),
    apology=(
        "{first}, I'm sorry: the new panel on your {vehicle} does not match in daylight, and we "
        "should have checked it outside before handing the car back. That's on us. I will get "
        "it resprayed at no cost this week with a courtesy car, and from now on every panel is "
        "checked in daylight before collection. {staff}"
    ),
    what_went_wrong="Colour matched under workshop lights only; the panel is visibly off outside.",
    impact="The car looks patched and has to come back in.",
    proposed_fix="Respray the panel properly, free, and lend me a car.",
    proposal_response="Agreed: free respray on Thursday with a courtesy car.",
    updates=(
        "Update, {first}: the paint has been re-mixed and the test card matches in daylight.",
        "{first}, Thursday 8am is booked for the respray; the courtesy car is reserved.",
    ),
    fix_summary="Free respray with the re-mixed colour; courtesy car while it was done",
    fixed_message=(
        "{first}, your {vehicle} is booked in for the respray on Thursday and a courtesy car is "
        "ready for you. {staff}"
    ),
    root_cause="Paint mixed from the code plate without a spray-out card; checked indoors only.",
    what_was_done="Free respray with courtesy car.",
    prevention_idea=(
        "Spray-out card checked in daylight before painting; daylight check at hand-over."
    ),
    wait_reason="Asked for photos of the panel in daylight",
    wait_reply="Photos attached: the driver's door against the front wing, taken at noon.",
)

QUOTE = Story(
    code="quote",
    failure_mode="Bill higher than the quote",
    summary="Charged more than quoted",
    description=(
        "The quote for {product} was one figure and the bill another, with no call in "
        "between to ask me. Please explain the difference."
    ),
    apology=(
        "{first}, I'm sorry: we billed you more than the quote for the {product} without "
        "calling you first. That was our mistake; extra work needs your yes before it happens. "
        "I have refunded the difference to your card today, and from now on the service desk "
        "must get your approval before any job goes over its quote. {staff}"
    ),
    what_went_wrong="Extra work was done and billed without the customer's approval.",
    impact="A bill well over the quote, with no warning.",
    proposed_fix="Refund the difference.",
    proposal_response="Agreed: difference refunded in full.",
    updates=("Update, {first}: I have the job sheet in front of me; the refund is being issued.",),
    fix_summary="Difference between quote and bill refunded",
    fixed_message="{first}, the difference is back on your card. {staff}",
    root_cause="Technician added work on the job card; the service desk did not call for approval.",
    what_was_done="Refunded the difference.",
    prevention_idea="The till will not take a bill above the quote without a recorded approval.",
)

WARNING_LIGHT = Story(
    code="warning-light",
    failure_mode="Fault not fixed first time",
    summary="Warning light again",
    description="Two days after the {product} the warning light is back on my {vehicle}.",
    apology=(
        "{first}, I'm sorry the warning light is back on your {vehicle} two days after the "
        "{product}. We missed something and that is on us. I will arrange to collect the car "
        "tomorrow morning and return it by the afternoon at no charge, and we are adding a "
        "diagnostic "
        "scan to the end of every job so this does not happen again. {staff}"
    ),
    what_went_wrong="A fault code was not cleared and re-checked at the end of the job.",
    impact="Worried about driving the car; another trip to the workshop.",
    proposed_fix="Collect the car and fix it properly.",
    proposal_response="Agreed: collection and return, no charge.",
    updates=("Update, {first}: our driver is booked to collect your car at 8:30.",),
    fix_summary="Collected, sensor replaced, returned the same day at no charge",
    fixed_message="{first}, your {vehicle} is back on your drive with a new sensor. {staff}",
    root_cause="Sensor connector damaged during the job; no final diagnostic scan.",
    what_was_done="Free collection, repair and return.",
    prevention_idea="Final diagnostic scan on every job before the car leaves.",
)

MOVED = Story(
    code="moved",
    failure_mode="Appointment moved by us",
    summary="Booking moved twice",
    description=(
        "This is the second time my appointment for the {vehicle} has been moved the day "
        "before. I had taken the day off work."
    ),
    apology=(
        "{first}, I'm sorry we moved your {vehicle} appointment the day before, twice, after you "
        "had taken the day off work. That is our failure to plan. I have booked you the first "
        "slot on Saturday, guaranteed, with the labour free, and from now on no confirmed "
        "appointment moves without the foreman's sign-off. {staff}"
    ),
    what_went_wrong="Confirmed appointment moved twice at a day's notice.",
    impact="Two days off work wasted.",
    proposed_fix="A guaranteed slot and something for the lost days.",
    proposal_response="Agreed: guaranteed Saturday slot, labour free.",
    updates=("Update, {first}: Saturday 8am is locked in your name.",),
    fix_summary="Guaranteed Saturday slot, labour free",
    fixed_message="{first}, Saturday 8am is yours and the labour is on us. {staff}",
    root_cause="Bays overbooked; the scheduler moved the newest bookings without checking history.",
    what_was_done="Guaranteed slot, free labour.",
    prevention_idea="Foreman signs off any move of a confirmed booking; never move one twice.",
    wait_reason="Asked which Saturday suits",
    wait_reply="This Saturday is fine, first thing.",
)

WHERE_IS = Story(
    code="where-is",
    failure_mode="Order lost or late without word",
    summary="Where is order {order}?",
    description=(
        "Tracking for order {order} has said 'at depot' for four days. The {product} was "
        "needed for a competition this weekend."
    ),
    apology=(
        "{first}, I'm sorry: order {order} has sat at the depot for four days and the tracking "
        "told you nothing useful. That is our failure. I will send it by express courier today "
        "so the {product} reaches you before the competition, and we are adding a daily check "
        "for parcels stuck at the depot so this does not happen again. {staff}"
    ),
    what_went_wrong="Parcel mis-sorted at the depot and never loaded; tracking stuck.",
    impact="Needed for a competition this weekend.",
    proposed_fix="Get it to me before Saturday.",
    proposal_response="Agreed: express courier today, free.",
    updates=("Update, {first}: found your parcel; it is being relabelled for express now.",),
    fix_summary="Found and sent by express courier, delivery refunded",
    fixed_message="{first}, your parcel is with the express courier and arrives tomorrow. {staff}",
    root_cause="Parcel put on the wrong cage at sorting; no check for parcels idle over 24 hours.",
    what_was_done="Express courier at our cost.",
    prevention_idea="Daily report of parcels idle at the depot for more than 24 hours.",
    wait_reason="Asked the customer to confirm the delivery address for the express courier",
    wait_reply="Yes, same address, but please leave it with the neighbour at 14.",
)

WRONG_SIZE = Story(
    code="wrong-size",
    failure_mode="Wrong item or size packed",
    summary="Wrong size in order {order}",
    description="The {product} in order {order} is the wrong size. I need an exchange quickly.",
    apology=(
        "{first}, I'm sorry we sent the wrong size in order {order}. That's our mistake at "
        "packing. I will send the right size by express courier today with a return label for "
        "the other one, and we are adding a size check at the packing bench so this does not "
        "happen again. {staff}"
    ),
    what_went_wrong="Wrong size picked and packed.",
    impact="Needs the right size quickly.",
    proposed_fix="Exchange, fast.",
    proposal_response="Agreed: express exchange with a prepaid return.",
    updates=("Update, {first}: the right size is packed and checked twice.",),
    fix_summary="Right size sent by express with a prepaid return label",
    fixed_message="{first}, the right size is on its way; the return label is attached. {staff}",
    root_cause="Two sizes shelved in the same bin.",
    what_was_done="Express exchange.",
    prevention_idea="One size per bin; scan the size label at packing.",
    wait_reason="Asked which size they need",
    wait_reply="Child's medium, please.",
)

RAIN = Story(
    code="rain",
    failure_mode="Parcel left out in the rain",
    summary="Parcel left in the rain",
    description=(
        "The driver left order {order} on the step in the rain and the box was soaked through."
    ),
    apology=(
        "{first}, I'm sorry our driver left order {order} on your step in the rain. We should "
        "have kept it dry or taken it back. I have sent a replacement today, and from now on "
        "drivers leave parcels only in a covered place or bring them back to the depot. {staff}"
    ),
    what_went_wrong="Parcel left uncovered on the doorstep in the rain.",
    impact="Contents soaked and unusable.",
    proposed_fix="A replacement.",
    proposal_response="Agreed: replacement today.",
    updates=("Update, {first}: the replacement is packed and leaves on this afternoon's van.",),
    fix_summary="Replacement delivered; driver briefed",
    fixed_message="{first}, your replacement is on this afternoon's van. {staff}",
    root_cause="Driver under time pressure; no rule against leaving parcels uncovered.",
    what_was_done="Replacement sent.",
    prevention_idea=(
        "Safe-place rule in the driver app: covered place, neighbour, or back to depot."
    ),
)

DAMAGED = Story(
    code="damaged",
    failure_mode="Product arrives damaged",
    summary="Damaged {product}",
    description="The {product} arrived with a torn seam. Very disappointing.",
    apology=(
        "{first}, I'm sorry the {product} arrived with a torn seam. We should have caught it "
        "before it left the depot. I will send a new one by express today and refund the "
        "delivery, and we are adding a seam check at packing so this does not happen again. "
        "{staff}"
    ),
    what_went_wrong="Item shipped with a torn seam; not inspected at packing.",
    impact="Could not use it; had to wait for another.",
    proposed_fix="A new one, quickly.",
    proposal_response="Agreed: express replacement, delivery refunded.",
    updates=("Update, {first}: a new one is checked and packed.",),
    fix_summary="Express replacement, delivery refunded",
    fixed_message="{first}, a new one is on its way by express. {staff}",
    root_cause="Supplier batch with weak seams; no inspection at packing.",
    what_was_done="Replacement; supplier informed.",
    prevention_idea="Seam check at packing; supplier batch quality report.",
)

CHARGED_TWICE = Story(
    code="charged-twice",
    failure_mode="Customer charged twice",
    summary="Charged twice this month",
    description="I have been charged twice for my {product} this month. Please refund one.",
    apology=(
        "{first}, I'm sorry: we charged you twice for your {product} this month. That was our "
        "mistake in billing. I have refunded the second charge today, and we have fixed the retry "
        "setting that caused it so this will not happen again. {staff}"
    ),
    what_went_wrong="A payment retry charged the card a second time.",
    impact="Double charge on the customer's card.",
    proposed_fix="Refund one charge.",
    proposal_response="Agreed: second charge refunded.",
    updates=("Update, {first}: the refund is approved and on its way to your card.",),
    fix_summary="Duplicate charge refunded",
    fixed_message="{first}, the duplicate charge is refunded. {staff}",
    root_cause="Payment retry ran after a delayed success from the card processor.",
    what_was_done="Refunded the duplicate.",
    prevention_idea="Retries check for a settled payment first; daily duplicate-charge report.",
)

CANCEL = Story(
    code="cancel",
    failure_mode="Cancellation not honoured",
    summary="Cancel my plan",
    description="I asked to cancel my {product} in the spring and I am still being billed.",
    apology=(
        "{first}, I'm sorry: you asked us to cancel your {product} in the spring and we kept "
        "billing you. That's on us. I have cancelled the plan today and I will refund every "
        "charge since your request, and from now on each cancellation is confirmed to you by "
        "email the same day. {staff}"
    ),
    what_went_wrong="A cancellation request was noted but never processed.",
    impact="Months of charges for a plan the customer did not want.",
    proposed_fix="Cancel and refund everything since the request.",
    proposal_response="Agreed: cancelled and refunded in full since the request.",
    updates=("Update, {first}: the plan is cancelled; the refund is being calculated.",),
    fix_summary="Plan cancelled; every charge since the request refunded",
    fixed_message="{first}, your plan is cancelled and the refund is on its way. {staff}",
    root_cause="Cancellations by phone were noted in the CRM but not passed to billing.",
    what_was_done="Cancelled and refunded.",
    prevention_idea="Cancellations go straight to billing with an automatic confirmation email.",
    wait_reason="Asked for the date of the original cancellation call",
    wait_reply="It was in April; I called on a Monday morning.",
)

# --- Chronic complainers: patience, every point answered, documented. -------------

TOO_COLD = Story(
    code="too-cold",
    failure_mode="Hall too hot or too cold",
    summary="Temperature in the hall",
    description=(
        "The hall was far too cold during {event}. I wore my coat the entire time. I expect "
        "a partial refund."
    ),
    apology=(
        "{first}, I'm sorry the hall was too cold during {event}; you should not have needed "
        "your coat. That was our mistake: the heating was set for a full house. I have added a "
        "$15 credit to your account, and we now check the hall temperature at the interval so "
        "this does not happen again. {staff}"
    ),
    what_went_wrong="Heating schedule set for a full house; the hall was half full and cold.",
    impact="Uncomfortable for the whole evening.",
    proposed_fix="A partial refund.",
    proposal_response="Agreed: $15 credit on the account.",
    updates=("Update, {first}: the credit is on your account.",),
    fix_summary="$15 credit on the account",
    fixed_message="{first}, the $15 credit is on your account. {staff}",
    root_cause="Heating schedule based on expected attendance, not actual.",
    what_was_done="Account credit; thermostat checked at each interval.",
    prevention_idea="Front of house checks the hall temperature at every interval.",
    unhappy="Fifteen dollars. I sat there freezing for two hours. That is not good enough.",
    second_fix="Refunded one ticket in full on top of the credit",
)

LATE_START = Story(
    code="late-start",
    failure_mode="Show starts late",
    summary="Late start, again",
    description=(
        "Once again the programme for {event} started five minutes late. This is the third "
        "time I have mentioned it."
    ),
    apology=(
        "{first}, I'm sorry {event} started late again, and that you had to raise it a third "
        "time. You were right and we did not act on it. I will call you on Friday with what we "
        "found, and from now on the hall manager logs every late start so we can fix the "
        "cause. {staff}"
    ),
    what_went_wrong="Shows start a few minutes late; earlier complaints were not acted on.",
    impact="The customer feels unheard.",
    proposed_fix="Start on time.",
    proposal_response="Agreed: late starts logged and reviewed weekly.",
    updates=(
        "Update, {first}: I have your three messages together and the hall manager has them too.",
    ),
    fix_summary="Explained the cause (bar queue at the doors); late starts now logged weekly",
    fixed_message="{first}, here is what we found and what we changed. {staff}",
    root_cause="Doors held until the bar queue cleared; nobody owned the start time.",
    what_was_done="Call and written explanation; start-time log.",
    prevention_idea="Stage manager owns the start time; bar closes its queue at five to.",
    unhappy="I note you did not address my actual point.",
    second_fix="Called back, went through each point and sent the start-time log",
)

STILL_WAITING = Story(
    code="still-waiting",
    failure_mode="Messages go unanswered",
    summary="Still waiting",
    description="I am still waiting for an answer to my last three messages.",
    apology=(
        "{first}, I'm sorry: you wrote to us three times and waited without an answer. That "
        "is our failure, not yours. I will send you an answer to each of your three messages by "
        "email today, and from now on your messages come straight to me so none is missed again. "
        "{staff}"
    ),
    what_went_wrong="Three messages unanswered.",
    impact="The customer feels ignored.",
    proposed_fix="Answers to all three.",
    proposal_response="Agreed: one email answering all three today.",
    updates=("Update, {first}: I have found two of the three; looking for the third now.",),
    fix_summary="Answered every message in one email",
    fixed_message="{first}, here are the answers to all three messages. {staff}",
    root_cause="Messages sent to an old address that no one watches.",
    what_was_done="Full written answer.",
    prevention_idea="Old addresses forward to the care inbox.",
    wait_reason="Asked which three messages are unanswered; none found in the inbox",
    wait_reply="",
)

INVOICE = Story(
    code="invoice",
    failure_mode="Invoice unclear or missing detail",
    summary="Invoice format",
    description=(
        "Why does the invoice for {product} not show the tax separately? I need it itemised."
    ),
    apology=(
        "{first}, I'm sorry our invoice for {product} did not show the tax separately; you need "
        "it itemised and we should have done that. I will send you an itemised invoice today, "
        "and we are changing the invoice template so every invoice shows the tax from now on. "
        "{staff}"
    ),
    what_went_wrong="Invoice template shows a single total, no tax line.",
    impact="Cannot use it for the customer's records.",
    proposed_fix="An itemised invoice.",
    proposal_response="Agreed: itemised invoice today.",
    updates=("Update, {first}: billing is producing the itemised copy now.",),
    fix_summary="Itemised invoice sent; template changed",
    fixed_message="{first}, your itemised invoice is attached. {staff}",
    root_cause="Old invoice template.",
    what_was_done="Itemised invoice.",
    prevention_idea="Tax line on every invoice template.",
)

# --- High-value customers: senior handling, short timers. --------------------------

GALA_AV = Story(
    code="gala-av",
    failure_mode="Sound or AV fails during a show",
    summary="Projector failed during our keynote",
    description=(
        "The projector for our CEO's keynote at the {product} failed twice and the backup "
        "laptop had no adapter. 300 guests watched us fumble for ten minutes."
    ),
    apology=(
        "{first}, I am sorry: the projector failed twice during your keynote and our backup "
        "laptop had no adapter, in front of 300 of your guests. That was our failure; the "
        "backup should have been tested. I will refund the AV package in full and I have "
        "booked our senior technician for your next event at no cost. We are now testing "
        "every backup before doors so this does not happen again. {staff}"
    ),
    what_went_wrong=(
        "Projector lamp failed; the backup laptop was never tested with the venue cable."
    ),
    impact="The CEO's keynote stalled for ten minutes in front of 300 guests.",
    proposed_fix="Refund the AV and make sure it works next time.",
    proposal_response="Agreed: AV package refunded, senior technician at the next event free.",
    updates=("Update, {first}: the AV refund is approved; I am confirming the technician's date.",),
    fix_summary="AV package refunded; senior technician booked free for the next event",
    fixed_message=(
        "{first}, the AV refund is done and your next event has our senior technician. {staff}"
    ),
    root_cause="Projector lamp past its hours; backup kit packed without the adapter.",
    what_was_done="Refund of the AV package; free technician for the next event.",
    prevention_idea="Lamp-hours log; backup kit checked with the client's laptop at rehearsal.",
)

FLEET_VAN = Story(
    code="fleet-van",
    failure_mode="Vehicle not ready when promised",
    summary="Fleet van not ready for the morning route",
    description=(
        "Our {vehicle} was due back from its service this morning for deliveries. It is still "
        "on the ramp and our drivers are standing around."
    ),
    apology=(
        "{first}, I'm sorry: your van was due back this morning and it is still on the ramp "
        "while your drivers wait. That is our mistake in planning the bay. I will have it "
        "finished by 2pm and I am sending one of our own vans to cover your morning route "
        "now. From now on fleet vans get a guaranteed bay the day before. {staff}"
    ),
    what_went_wrong="Fleet van not started on time; bay double-booked overnight.",
    impact="Drivers idle; morning deliveries at risk.",
    proposed_fix="A loan van now and ours back today.",
    proposal_response="Agreed: loan van within the hour, service finished by 2pm.",
    updates=(
        "Update, {first}: two technicians are on your van now; brake discs are fitted.",
        "Update, {first}: the loan van has left with your driver; the service is about "
        "40 minutes from done.",
        "Update, {first}: road test under way; I will call the moment it is ready.",
    ),
    fix_summary="Loan van for the morning route; service finished and van returned by 2pm",
    fixed_message="{first}, your van is ready and on its way back to you. {staff}",
    root_cause="Overnight bay plan double-booked; fleet jobs had no priority.",
    what_was_done="Loan van, two technicians on the job, free labour.",
    prevention_idea="Fleet vans get a guaranteed bay booked the day before.",
)

WRONG_SESSION = Story(
    code="wrong-session",
    failure_mode="Entries placed in the wrong session",
    summary="Our dancers are in the wrong session tonight",
    description=(
        "The running order for tonight's championship has our dancers in evening session 2, "
        "but we entered session 1. Half our families have already left for the venue."
    ),
    apology=(
        "{first}, I'm sorry: we put your dancers in session 2 tonight when you entered session "
        "1. That is our mistake. I will get them moved back to session 1 within the hour and call "
        "you as soon as the running order is fixed, and we are adding a check of every studio's "
        "sessions before the running order is published. {staff}"
    ),
    what_went_wrong="Studio's entries moved to the wrong session when the running order was built.",
    impact="Families already travelling for the wrong time.",
    proposed_fix="Put us back in session 1.",
    proposal_response="Agreed: moved back to session 1.",
    updates=(
        "Update, {first}: the running order is being reprinted with your dancers in session 1.",
    ),
    fix_summary="Entries moved back to session 1; running order reprinted",
    fixed_message="{first}, your dancers are back in session 1. {staff}",
    root_cause="Spreadsheet sort when the running order was built.",
    what_was_done="Entries moved back, running order reprinted.",
    prevention_idea="Each studio confirms its sessions before the running order is published.",
)

COSTUMES = Story(
    code="costumes",
    failure_mode="Order lost or late without word",
    summary="Competition costumes not here",
    description=(
        "Our order of {product} for the championship has not arrived and we perform this "
        "week. Order {order}."
    ),
    apology=(
        "{first}, I'm sorry: your order {order} for the championship has not arrived and you "
        "perform this week. That is our failure. I will get the costumes made up again and "
        "send them by same-day courier, and we are reserving stock for studio orders before every "
        "championship so this does not happen again. {staff}"
    ),
    what_went_wrong="Studio order split across two deliveries; the second was never dispatched.",
    impact="Dancers may perform without costumes.",
    proposed_fix="Costumes before Friday.",
    proposal_response="Agreed: same-day courier once sizes are confirmed.",
    updates=("Update, {first}: the workroom is cutting the costumes now.",),
    fix_summary="Costumes remade and sent by same-day courier",
    fixed_message="{first}, the costumes are with the courier. {staff}",
    root_cause="Split order not tracked as one.",
    what_was_done="Remade and couriered.",
    prevention_idea=(
        "Studio orders reserved before championships; split deliveries tracked together."
    ),
    wait_reason="Asked for the final size list so the costumes can be cut",
    wait_reply="",
)

HIRE_DEPOSIT = Story(
    code="hire-deposit",
    failure_mode="Customer charged twice",
    summary="Deposit for our hall hire taken twice",
    description="The deposit for our {product} has been taken from our account twice.",
    apology=(
        "{first}, I'm sorry: we took the deposit for your {product} twice. That was our mistake "
        "in billing. I have refunded the second deposit today and I will send you a corrected "
        "statement, and we have fixed the booking system step that caused it so this will not "
        "happen again. {staff}"
    ),
    what_went_wrong="Deposit invoice raised twice when the booking was amended.",
    impact="A large sum taken twice from the client's account.",
    proposed_fix="Refund and a corrected statement.",
    proposal_response="Agreed: refund today, statement to follow.",
    updates=("Update, {first}: finance has released the refund.",),
    fix_summary="Duplicate deposit refunded; corrected statement sent",
    fixed_message="{first}, the refund is on its way and the statement is attached. {staff}",
    root_cause="Amending a booking re-raised its deposit invoice.",
    what_was_done="Refunded; statement corrected.",
    prevention_idea="Amendments never re-raise an invoice already paid.",
)

STORIES = {
    s.code: s
    for s in (
        POWER_CUT,
        FLOOD,
        SICK_DAY,
        SOUND,
        SEATS,
        DOORS,
        BOX_OFFICE,
        PARKING,
        PAINT,
        QUOTE,
        WARNING_LIGHT,
        MOVED,
        WHERE_IS,
        WRONG_SIZE,
        RAIN,
        DAMAGED,
        CHARGED_TWICE,
        CANCEL,
        TOO_COLD,
        LATE_START,
        STILL_WAITING,
        INVOICE,
        GALA_AV,
        FLEET_VAN,
        WRONG_SESSION,
        COSTUMES,
        HIRE_DEPOSIT,
    )
}

# Stock non-apologies, sent a few times with an override so the coach history
# shows what a low score looks like and why someone sent it anyway.
CLICHES = (
    "Dear customer, we apologise for any inconvenience caused. Your feedback is important to "
    "us and we will be in touch. Regards, {staff}",
    "We regret any inconvenience this may have caused. A member of the team will contact you. "
    "{staff}",
)
OVERRIDE_REASONS = {
    "power-cut": (
        "Hall evacuated, 600 guests: one holding reply to everyone who wrote tonight; personal "
        "calls and refunds tomorrow morning."
    ),
    "flood": (
        "Road closed and 30 orders stuck: holding reply to every customer on the route now, "
        "a personal call to each within the hour."
    ),
    "chronic": (
        "The customer asked in writing for one-line acknowledgements only; full answer follows "
        "by post as they prefer."
    ),
}

FOLLOW_UPS = (
    "Hi {first}, it's {staff} at Harbourside. Now that things have settled: did we put it "
    "right for you, and would you come back to us? A one-line reply is plenty.",
    "{first}, {staff} here. I wanted to check in now that it is sorted. Are you happy with "
    "how it ended, and would you book with us again? Honest answers help us most.",
    "Hello {first}, a quick follow-up from {staff}. Did our fix work for you? If anything is "
    "still not right, reply here and I will pick it up myself.",
)
HAPPY_ANSWERS = (
    "Yes, thank you. That was handled really well and we will be back.",
    "All sorted, and I appreciated the call. Thank you.",
    "Honestly better than I expected. Thanks {staff}.",
    "Yes, happy now. Thanks for owning it.",
)
GRUDGING_ANSWERS = (
    "It's fine now, but I doubt we will be back.",
    "Sorted, thank you. We will see about next time.",
)
EARLY_REASONS = (
    "The client's board reviews next year's venue on Monday and asked for our answer before then.",
    "The customer flies out tomorrow and asked us to check in today.",
)
WAIT_CUSTOMER_SILENT = "Waiting for the customer's reply"
REOPEN_REASONS = {
    "flood": "Customer wrote back: the replacement parcel arrived soaked as well",
    "default": "Customer wrote back: the problem has come back",
}
REOPEN_MESSAGES = {
    "flood": "Sorry to write again, but the replacement arrived soaked as well. The box was "
    "left by the gate.",
    "default": "I'm afraid the same problem is back again.",
}
REOPEN_FIXES = {
    "flood": "Second replacement hand-delivered by the dispatcher; delivery fees refunded",
    "default": "Put right a second time, checked with the customer before hand-over",
}
# Progress updates once a story's own run out: the 20-minute rule keeps them coming.
GENERIC_UPDATES = (
    "Update, {first}: I'm still on this and it is moving. I will write again within 20 "
    "minutes with where we are.",
    "{first}, a quick update: nearly there. I'm checking the last details before I confirm.",
    "Another update, {first}: everything is lined up; just waiting on the final sign-off.",
)
