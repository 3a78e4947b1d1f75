"""Procedures the ``workflow`` suite draws its tasks from (written for this project).

Each domain is a goal and seven steps with their dependencies (a DAG over step
indices, listed in a topological order). ``{slot}`` words are filled from the
domain's word lists, so one domain yields many distinct tasks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Domain:
    """One procedure: ``steps`` are (text, indices of the steps it needs), in a topological order."""

    goal: str
    steps: tuple[tuple[str, tuple[int, ...]], ...]
    slots: dict[str, tuple[str, ...]]


DOMAINS = (
    Domain("make a soup with {veg}", (
        ("wash the {veg}", ()),
        ("chop the {veg}", (0,)),
        ("fill a pot with water", ()),
        ("boil the water", (2,)),
        ("add the {veg} to the pot", (1, 3)),
        ("season the soup with {spice}", (4,)),
        ("serve the soup in bowls", (5,)),
    ), {"veg": ("carrots", "leeks", "potatoes", "onions", "pumpkin"),
        "spice": ("salt", "pepper", "thyme", "cumin")}),
    Domain("plan a trip to {city}", (
        ("choose the travel dates", ()),
        ("book a flight to {city}", (0,)),
        ("book a hotel in {city}", (0,)),
        ("renew the passport", ()),
        ("check in for the flight", (1, 3)),
        ("pack the {bag}", (0,)),
        ("take a taxi to the airport", (4, 5)),
    ), {"city": ("Lisbon", "Kyoto", "Oslo", "Lima", "Cairo", "Perth"),
        "bag": ("suitcase", "backpack", "duffel bag")}),
    Domain("build a report from the {source} data", (
        ("download the {source} data", ()),
        ("remove duplicate rows", (0,)),
        ("fill in missing values", (0,)),
        ("join the data with the {table} table", (1, 2)),
        ("compute the monthly totals", (3,)),
        ("plot the totals as a chart", (4,)),
        ("send the report to the {team} team", (5,)),
    ), {"source": ("sales", "weather", "traffic", "survey"),
        "table": ("customer", "region", "product"),
        "team": ("finance", "research", "sales")}),
    Domain("fix the leaking {fixture}", (
        ("turn off the water supply", ()),
        ("buy a new {part}", ()),
        ("remove the old {part}", (0,)),
        ("clean the {fixture} fittings", (2,)),
        ("fit the new {part}", (1, 3)),
        ("turn the water back on", (4,)),
        ("check the {fixture} for leaks", (5,)),
    ), {"fixture": ("tap", "sink", "shower", "toilet"),
        "part": ("washer", "valve", "seal", "hose")}),
    Domain("plant a {plant} bed", (
        ("pick a sunny spot", ()),
        ("dig over the soil", (0,)),
        ("buy {plant} seedlings", ()),
        ("mix compost into the soil", (1,)),
        ("plant the {plant} seedlings", (2, 3)),
        ("water the bed well", (4,)),
        ("cover the bed with {mulch}", (5,)),
    ), {"plant": ("tomato", "lettuce", "bean", "herb", "tulip"),
        "mulch": ("straw", "bark", "leaves")}),
    Domain("throw a {event} party", (
        ("pick a date for the party", ()),
        ("write the guest list", ()),
        ("send the invitations", (0, 1)),
        ("order a {food}", (0,)),
        ("decorate the {room}", (0,)),
        ("welcome the guests", (2, 4)),
        ("serve the {food}", (3, 5)),
    ), {"event": ("birthday", "farewell", "garden", "holiday"),
        "food": ("cake", "pizza", "fruit platter"),
        "room": ("living room", "garden", "hall")}),
    Domain("release version {version} of the app", (
        ("merge the open pull requests", ()),
        ("run the test suite", (0,)),
        ("update the changelog", (0,)),
        ("tag version {version}", (1, 2)),
        ("build the {platform} package", (3,)),
        ("upload the package", (4,)),
        ("announce the release on the {channel}", (5,)),
    ), {"version": ("2.1", "3.0", "1.4", "5.2"),
        "platform": ("Linux", "Windows", "Android"),
        "channel": ("blog", "mailing list", "forum")}),
    Domain("move to a new flat in {town}", (
        ("sign the lease in {town}", ()),
        ("give notice to the old landlord", ()),
        ("pack the boxes", ()),
        ("hire a moving van", (0,)),
        ("load the boxes into the van", (2, 3)),
        ("unload the boxes at the new flat", (4,)),
        ("return the keys of the old flat", (1, 5)),
    ), {"town": ("Leeds", "Ghent", "Turin", "Bergen", "Graz")}),
)
