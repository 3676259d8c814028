"""Harbourside Events & Services: the demo business, described as data.

One multi-site service business whose everyday failures are the ones the seed
articles tell of: a venue where the power can fail mid-show, a body shop whose
technician can call in sick, a depot whose shipments a flood can delay. The
generator turns this description into customers, transactions and
interactions; other apps (breakdowns, drills, tests) can import the codes and
names from here instead of repeating them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bounceback.accounts.roles import Role

BUSINESS_NAME = "Harbourside Events & Services"
TIME_ZONE = "America/New_York"

# Where the demo's own systems live; transactions and customers carry these as
# their source so a re-run or an import recognises them.
CRM_SOURCE = "harbourside-crm"
TICKETS_SOURCE = "harbourside-tickets"
WORKSHOP_SOURCE = "harbourside-workshop"
SHOP_SOURCE = "harbourside-shop"
BILLING_SOURCE = "harbourside-billing"


@dataclass(frozen=True)
class SiteSpec:
    code: str
    name: str
    kind: str
    address: str


VENUE = SiteSpec(
    "grand-hall",
    "Harbourside Grand Hall",
    "event venue",
    "1 Quay Street, Bayport, MD 21230",
)
SMALL_VENUE = SiteSpec(
    "riverside-hall",
    "Riverside Hall",
    "event venue",
    "48 Mill Race Road, Bayport, MD 21231",
)
WORKSHOP = SiteSpec(
    "auto-body",
    "Harbourside Auto Body & Repair",
    "workshop",
    "212 Foundry Lane, Bayport, MD 21224",
)
DEPOT = SiteSpec(
    "dockside-depot",
    "Dockside Depot",
    "warehouse",
    "9 Dockside Way, Lower Valley, MD 21226",
)
SITES = (VENUE, SMALL_VENUE, WORKSHOP, DEPOT)


@dataclass(frozen=True)
class TeamSpec:
    name: str
    description: str
    lead: str | None  # username


@dataclass(frozen=True)
class StaffSpec:
    username: str
    password: str
    first_name: str
    last_name: str
    role: Role
    team: str
    title: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


TEAMS = (
    TeamSpec("Front of house", "Box office, ushers and hosts at both halls.", lead="lead"),
    TeamSpec("Workshop", "Technicians and service desk at the body shop.", lead="tom.becker"),
    TeamSpec("Depot & deliveries", "Picking, packing and the delivery routes.", lead=None),
    TeamSpec("Customer care", "Phones, inbox and chat for every site.", lead="manager"),
    TeamSpec("Leadership", "Directors who approve rule-bending and watch the numbers.", lead=None),
)

# The published demo logins. They are printed by `bounceback demo` on purpose:
# a demo server is for showing, and its operator must change them before
# exposing it to anyone else.
STAFF = (
    StaffSpec(
        "agent", "harbour-agent", "Ava", "Thompson", Role.AGENT, "Customer care", "Care agent"
    ),
    StaffSpec("lead", "harbour-lead", "Leah", "Park", Role.LEAD, "Front of house", "Venue lead"),
    StaffSpec(
        "manager",
        "harbour-manager",
        "Marcus",
        "Bell",
        Role.MANAGER,
        "Customer care",
        "Operations manager",
    ),
    StaffSpec(
        "executive",
        "harbour-executive",
        "Eleanor",
        "Vance",
        Role.EXECUTIVE,
        "Leadership",
        "Managing director",
    ),
    StaffSpec(
        "admin", "harbour-admin", "Alex", "Morgan", Role.ADMIN, "Leadership", "Systems admin"
    ),
    StaffSpec(
        "tom.becker",
        "harbour-tom",
        "Tom",
        "Becker",
        Role.LEAD,
        "Workshop",
        "Workshop foreman",
    ),
    StaffSpec(
        "sam.okafor", "harbour-sam", "Sam", "Okafor", Role.AGENT, "Workshop", "Body technician"
    ),
    StaffSpec(
        "diego.ramos",
        "harbour-diego",
        "Diego",
        "Ramos",
        Role.AGENT,
        "Depot & deliveries",
        "Dispatcher",
    ),
)

# The technician whose sick day the demo sets up: most of the coming
# appointments are his, so "Sam called in sick" has customers to reach.
SICK_TECHNICIAN = "Sam Okafor"
TECHNICIANS = (SICK_TECHNICIAN, "Tom Becker", "Rosa Jimenez", "Kwame Mensah")

# Low-lying delivery route that floods: the "flood delays shipments" scenario.
FLOOD_ROUTE = "Lower Valley"
ROUTES = (FLOOD_ROUTE, "Harbour Front", "Northside", "Westfield", "Out of state")
CARRIERS = ("Harbourside vans", "Chesapeake Freight", "UPS Ground")

# Tonight's event at the venue: the dance competition of the first article.
TONIGHT_EVENT = "Harbourside Dance Championship"
TONIGHT_SESSIONS = (
    "Evening session 1: Lyrical, ages 7-9",
    "Evening session 2: Contemporary, ages 10-14",
)
TONIGHT_HOUR = 19  # venue local time
TONIGHT_MIN_BOOKINGS = 46


@dataclass(frozen=True)
class Product:
    name: str
    low: int  # price range in whole dollars
    high: int


VENUE_EVENTS = (
    "Bayport Symphony: Summer Pops",
    "The Lanterns, live",
    "Jazz on the Quay",
    "Chesapeake Choir Gala",
    "Harbourside Comedy Night",
    "Winter Nutcracker",
    "Battle of the Bands",
)
SMALL_VENUE_EVENTS = (
    "Folk Fridays",
    "Spring Dance Recital",
    "Open Mic Thursday",
    "String Quartet Evenings",
)
COMPETITION_CATEGORIES = (
    "Lyrical 7-9",
    "Jazz 10-12",
    "Tap duo 10-14",
    "Contemporary 13-15",
    "Hip-hop crew 12-16",
    "Ballet solo 15-18",
)
WORKSHOP_SERVICES = (
    Product("Dent and scratch repair", 350, 1400),
    Product("Bumper respray", 420, 900),
    Product("Collision repair", 1800, 6500),
    Product("Full service", 180, 420),
    Product("Brake pads and discs", 240, 680),
    Product("State safety inspection", 90, 140),
    Product("Four new tires", 420, 980),
    Product("Windshield replacement", 310, 760),
)
SHOP_PRODUCTS = (
    Product("Dancewear bundle", 45, 160),
    Product("Competition costume", 120, 380),
    Product("Car care kit", 35, 90),
    Product("Harbourside hoodie and mug", 38, 75),
    Product("Tap shoes", 55, 140),
)
EVENT_HIRE = (
    Product("Grand Hall hire: company gala", 6500, 24000),
    Product("Grand Hall hire: conference day", 3500, 12000),
    Product("Riverside Hall hire: private party", 1200, 4800),
)
CARE_PLAN = Product("Workshop Care Plan (monthly)", 25, 25)
SEASON_PASS = Product("Harbourside Season Pass (monthly)", 39, 39)
