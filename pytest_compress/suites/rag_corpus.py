"""A generated collection of short documents about fictional people, with facts per person.

Used by ``rag`` (the collection the retrievers search) and ``passage_retrieval``
(the passages). Names are built from syllables and every sentence template is
written for this project, so no document can be something a model memorised.
Families share a surname, which gives lexical retrievers near-miss documents.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

_SYLLABLES = ("ka", "ve", "lor", "min", "tha", "dru", "sel", "an", "ori", "bex", "qua", "zen",
              "mol", "ri", "tav", "ul", "nos", "pe", "gar", "fen", "is", "ro", "mar", "le")


def fictional_name(rng: random.Random, syllables: int = 2) -> str:
    """A capitalised made-up word such as ``Tavori``."""
    return "".join(rng.choice(_SYLLABLES) for _ in range(syllables)).capitalize()


@dataclass(frozen=True)
class Attribute:
    """One kind of fact: how a document states it, how a question asks it, its values."""

    statement: str  # "{name} ... {value}."
    question: str  # "... {name} ...?"
    answer_prefix: str  # the start of an answer, which a value completes
    values: tuple[str, ...]


ATTRIBUTES = {
    "town": Attribute(
        "{name} was born in the town of {value}.", "In which town was {name} born?",
        "{name} was born in the town of", (),  # generated town names, see collection()
    ),
    "job": Attribute(
        "{name} works as a {value}.", "What is the job of {name}?", "{name} works as a",
        ("baker", "pilot", "tailor", "farmer", "nurse", "painter", "miner", "sailor", "teacher", "jeweller",
         "potter", "carpenter"),
    ),
    "pet": Attribute(
        "{name} keeps a pet {value} at home.", "Which pet does {name} keep?", "{name} keeps a pet",
        ("goat", "parrot", "ferret", "tortoise", "rabbit", "owl", "hamster", "lizard", "pigeon", "frog",
         "donkey", "snail"),
    ),
    "instrument": Attribute(
        "In the evenings {name} plays the {value}.", "Which instrument does {name} play?", "{name} plays the",
        ("violin", "drum", "flute", "harp", "trumpet", "cello", "banjo", "piano", "oboe", "horn", "lute",
         "guitar"),
    ),
    "food": Attribute(
        "The favourite food of {name} is {value}.", "What is the favourite food of {name}?",
        "The favourite food of {name} is",
        ("soup", "rice", "cheese", "plums", "bread", "honey", "beans", "pears", "fish", "noodles", "dates", "pie"),
    ),
}
TOWNS = 12


@dataclass(frozen=True)
class Person:
    name: str
    facts: dict  # attribute -> value

    def document(self) -> str:
        return " ".join(ATTRIBUTES[a].statement.format(name=self.name, value=v) for a, v in self.facts.items())


def attribute_values(attribute: str, towns: tuple[str, ...]) -> tuple[str, ...]:
    return towns if attribute == "town" else ATTRIBUTES[attribute].values


def collection(rng: random.Random, people: int, facts_per_person: int = 3) -> tuple[list[Person], tuple[str, ...]]:
    """``people`` distinct people (families of about three share a surname), each with
    ``facts_per_person`` facts, and the town names their facts use."""
    towns: list[str] = []
    while len(towns) < TOWNS:
        town = fictional_name(rng, 3)
        if town not in towns:
            towns.append(town)
    names: set[str] = set()
    persons = []
    surname = fictional_name(rng)
    while len(persons) < people:
        if len(persons) % 3 == 0:
            surname = fictional_name(rng)
        name = f"{fictional_name(rng)} {surname}"
        if name in names:
            continue
        names.add(name)
        chosen = rng.sample(sorted(ATTRIBUTES), facts_per_person)
        persons.append(Person(name, {a: rng.choice(attribute_values(a, tuple(towns))) for a in chosen}))
    return persons, tuple(towns)
