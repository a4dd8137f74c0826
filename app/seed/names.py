"""Fixed word lists for seeded names (no Faker: the same key always gives the same name)."""

from __future__ import annotations

FIRST_NAMES = (
    "Aaliyah", "Adam", "Aisha", "Alfie", "Amara", "Amelia", "Arjun", "Ben", "Bethany", "Callum",
    "Chloe", "Daniel", "Dev", "Ella", "Emeka", "Erin", "Femi", "Fatima", "Freya", "George",
    "Grace", "Hannah", "Harry", "Hugo", "Imran", "Isla", "Jack", "Jasmine", "Kiran", "Leah",
    "Lena", "Liam", "Maya", "Megan", "Mohammed", "Niamh", "Noah", "Olu", "Oscar", "Priya",
    "Quinn", "Rhys", "Rosa", "Ruby", "Sami", "Sophie", "Thomas", "Uma", "Wren", "Zara",
)  # fmt: skip

SURNAMES = (
    "Adams", "Ahmed", "Bailey", "Begum", "Brown", "Campbell", "Clarke", "Davies", "Edwards", "Evans",
    "Fraser", "Green", "Hall", "Harris", "Hughes", "Iqbal", "Jackson", "James", "Jones", "Khan",
    "Kowalski", "Lewis", "Martin", "Mensah", "Morgan", "Murphy", "Nowak", "O'Brien", "Okafor", "Owen",
    "Patel", "Phillips", "Quayle", "Rahman", "Reid", "Roberts", "Robinson", "Shah", "Singh", "Smith",
    "Taylor", "Thomas", "Thompson", "Turner", "Walker", "Ward", "Watson", "White", "Williams", "Wood",
)  # fmt: skip

PLACES = (
    "Ashford", "Barnsley", "Bedford", "Bexley", "Bradford", "Brighton", "Bristol", "Cambridge",
    "Carlisle", "Chester", "Colchester", "Coventry", "Derby", "Dover", "Durham", "Exeter",
    "Gateshead", "Gloucester", "Halifax", "Harrogate", "Hereford", "Ipswich", "Kendal", "Lancaster",
    "Leeds", "Leicester", "Lincoln", "Luton", "Norwich", "Oldham", "Oxford", "Plymouth", "Preston",
    "Reading", "Salford", "Sheffield", "Stockport", "Truro", "Wakefield", "Worcester", "York",
)  # fmt: skip

SCHOOL_KINDS = (
    "Primary School", "Primary Academy", "Church of England Primary School", "Infant School",
    "Junior School", "Academy", "High School", "Community College", "Secondary School",
)  # fmt: skip

DELIVERY_PARTNER_KINDS = ("Teaching School Hub", "Schools Alliance", "Research School")

ITT_PROVIDERS = (
    "University of Birmingham",
    "Sheffield Hallam University",
    "Manchester Metropolitan University",
    "Teach First",
    "University of Exeter",
)

EMPLOYERS = (
    "Hospital School Trust",
    "Local Authority Supply Service",
    "Northern Virtual School",
    "Regional Education Services",
)
