"""A deterministic synthetic population for the simulated registries.

Everything is generated from a seed; no person is real. The seeds' examples
are fixed points: BRN BR-2024-0042 is a registered live birth and
BR-2024-9999 does not exist. The fixed persons (BR-2024-0042 to -0046) carry
the outcomes the demo and the tests rely on (spp_dci_demo/README.rst lists
them); the rest are generated.
"""

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

GIVEN_NAMES = {
    "female": ["Amina", "Maria", "Grace", "Leila", "Nadia", "Rosa", "Sara", "Ines", "Joy", "Lina", "Mei", "Ana"],
    "male": ["Juan", "Ali", "Kofi", "Tomas", "Ravi", "Samuel", "Omar", "Luis", "Daniel", "Hugo", "Ivan", "Noah"],
}
SURNAMES = [
    "Santos",
    "Reyes",
    "Mensah",
    "Okafor",
    "Dela Cruz",
    "Haddad",
    "Nguyen",
    "Garcia",
    "Bautista",
    "Mwangi",
    "Kowalski",
    "Silva",
    "Fernandez",
    "Rahman",
    "Tan",
    "Morales",
]
PLACES = [
    "Central District Hospital",
    "North Health Centre",
    "East Maternity Clinic",
    "Home birth, West Village",
    "South Provincial Hospital",
]
PROGRAMMES = [
    ("PRG-4PS", "Conditional Cash Transfer"),
    ("PRG-SPN", "Social Pension"),
    ("PRG-SFP", "School Feeding"),
    ("PRG-CBN", "Child Benefit"),
]
WG_DOMAINS = ["VIS_SS", "HEAR_SS", "MOB_SS", "COG_SS", "SC_SS", "COM_SS"]
IMPAIRMENTS = ["visual", "hearing", "physical", "intellectual", "psychosocial", "speech"]


@dataclass
class Person:
    uin: str
    brn: str | None
    given_name: str
    surname: str
    sex: str
    birth_date: date
    birth_place: str
    parent1_uin: str | None = None
    parent2_uin: str | None = None
    death_date: date | None = None
    drn: str | None = None
    enrolments: list = field(default_factory=list)
    disability: dict | None = None

    def identifiers(self):
        pairs = [("UIN", self.uin)]
        if self.brn:
            pairs.append(("BRN", self.brn))
        if self.drn:
            pairs.append(("DRN", self.drn))
        return pairs


class Population:
    """Persons indexed by every identifier, with IBR enrolments and DR records."""

    def __init__(self, seed=20240042, size=5000):
        self.rng = random.Random(seed)
        self.persons = []
        self.by_identifier = {}
        self._generate_fixed()
        self._generate(size)

    def _add(self, person):
        self.persons.append(person)
        for pair in person.identifiers():
            self.by_identifier[pair] = person
        return person

    def find(self, identifier_type, identifier_value):
        return self.by_identifier.get((identifier_type, identifier_value))

    def _generate_fixed(self):
        mother = self._add(Person("UIN-100000001", None, "Rosa", "Santos", "female", date(1994, 6, 2), PLACES[0]))
        father = self._add(Person("UIN-100000002", None, "Luis", "Santos", "male", date(1991, 1, 20), PLACES[0]))
        self._add(
            Person(
                "UIN-200000042",
                "BR-2024-0042",
                "Maria",
                "Santos",
                "female",
                date(2024, 3, 15),
                PLACES[0],
                mother.uin,
                father.uin,
            )
        )
        self._add(
            Person(
                "UIN-200000043",
                "BR-2024-0043",
                "Tomas",
                "Bautista",
                "male",
                date(2024, 1, 9),
                PLACES[1],
                death_date=date(2024, 8, 30),
                drn="DR-2024-0007",
            )
        )
        self._add(
            Person(
                "UIN-200000044",
                "BR-2024-0044",
                "Amina",
                "Mensah",
                "female",
                date(2024, 2, 1),
                PLACES[2],
                enrolments=[self._enrolment("PRG-CBN", date(2024, 4, 1)), self._enrolment("PRG-SFP", date(2024, 6, 1))],
            )
        )
        self._add(
            Person(
                "UIN-200000045",
                "BR-2024-0045",
                "Samuel",
                "Okafor",
                "male",
                date(2024, 5, 20),
                PLACES[3],
                disability=self._disability(
                    date(2024, 9, 1),
                    {"MOB_SS": 4, "VIS_SS": 1, "HEAR_SS": 1, "COG_SS": 2, "SC_SS": 3, "COM_SS": 1},
                    ["physical"],
                    "Approved",
                    2,
                ),
            )
        )
        self._add(
            Person("UIN-200000046", "BR-2024-0046", "Juan", "Reyes", "male", date(2023, 11, 2), PLACES[4], mother.uin)
        )

    def _generate(self, size):
        rng = self.rng
        for number in range(1, size + 1):
            sex = rng.choice(("female", "male"))
            birth_date = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 74))
            year = birth_date.year
            person = Person(
                uin=f"UIN-{300000000 + number}",
                brn=f"BR-{year}-{10000 + number}",
                given_name=rng.choice(GIVEN_NAMES[sex]),
                surname=rng.choice(SURNAMES),
                sex=sex,
                birth_date=birth_date,
                birth_place=rng.choice(PLACES),
            )
            if rng.random() < 0.04:
                person.death_date = min(date(2026, 6, 30), birth_date + timedelta(days=rng.randrange(1, 365 * 70)))
                person.drn = f"DR-{person.death_date.year}-{50000 + number}"
            if rng.random() < 0.3:
                codes = rng.sample([code for code, _name in PROGRAMMES], rng.randint(1, 2))
                person.enrolments = [
                    self._enrolment(code, birth_date + timedelta(days=rng.randrange(30, 3000))) for code in codes
                ]
            if rng.random() < 0.12:
                scores = {domain: rng.choices((1, 2, 3, 4), weights=(60, 25, 10, 5))[0] for domain in WG_DOMAINS}
                severe = any(score >= 3 for score in scores.values())
                person.disability = self._disability(
                    birth_date + timedelta(days=rng.randrange(100, 5000)),
                    scores,
                    rng.sample(IMPAIRMENTS, rng.randint(1, 2)) if severe else [],
                    rng.choice(("Approved", "Pending", "Expired")) if severe else "Pending",
                    rng.randint(1, 4),
                )
            self._add(person)

    def _enrolment(self, code, enrolment_date):
        name = dict(PROGRAMMES)[code]
        return {
            "programme_identifier": code,
            "programme_name": name,
            "enrolment_date": enrolment_date.isoformat(),
            "enrolment_status": 1,
        }

    @staticmethod
    def _disability(assessed, scores, impairments, status, level):
        return {
            "scores": scores,
            "impairments": impairments,
            "status": status,
            "level": level,
            "assessed": assessed.isoformat(),
        }
