"""Small deterministic text environments for the ``real_world`` suite.

An environment is data, so a user's JSONL case can bring its own: a set of
true facts (short sentences, e.g. ``"the brass key is in the kitchen"``), and
actions, each a fixed text (``"take the brass key"``) with the facts it needs,
adds and removes (STRIPS-style). Several actions may share one text with
different needs (``"go back to the hall"`` from any room); the first whose
needs hold is the one that happens. An answer is read as the action text it is,
or else the longest action text it contains; an action whose needs hold
nowhere, or an answer that names no action, is invalid and changes nothing.

Three generators build cases from vocabularies written for this project,
seeded: ``rooms`` (find a key, unlock a door, fetch a thing), ``files`` (make a
folder, move a file into it) and ``crafting`` (gather materials, craft an item).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

KINDS = ("rooms", "files", "crafting")

_ROOMS = ("hall", "kitchen", "cellar", "study", "attic", "garden", "library", "pantry", "workshop")
_METALS = ("brass", "iron", "silver", "copper")
_TREASURES = ("gold coin", "old map", "silver ring", "lost diary", "music box", "blue vase")
_CLUTTER = ("lamp", "broom", "teapot", "blanket", "candle", "basket")
_FOLDERS = ("docs", "photos", "music", "downloads", "projects", "notes", "backup", "archive", "drafts")
_FILES = ("report.txt", "budget.csv", "photo.jpg", "song.mp3", "letter.doc", "plan.md", "data.json")
# material -> the action that gathers it; item -> the materials it is crafted from
_MATERIALS = {"a stick": "chop the tree", "coal": "mine the rock", "string": "shear the sheep",
              "a plank": "saw the log", "a stone": "break the boulder", "wool": "comb the goat",
              "clay": "scoop the riverbank", "a feather": "search the nest"}
_RECIPES = {"a torch": ("a stick", "coal"), "a bow": ("a stick", "string"), "a shelf": ("a plank", "a stone"),
            "a pillow": ("wool", "a feather"), "a pot": ("clay", "coal"), "an arrow": ("a stick", "a feather"),
            "a rug": ("wool", "string"), "a hammer": ("a stone", "a stick")}


@dataclass(frozen=True)
class Action:
    do: str
    needs: frozenset[str]
    adds: frozenset[str]
    removes: frozenset[str]


def normalise(text: str) -> str:
    """Action texts compare without case, surrounding punctuation or repeated spaces."""
    return " ".join(re.sub(r"[^\w./ -]", " ", text.lower()).split()).strip(" .")


class TextEnvironment:
    """One episode's world, built from a case (``facts``, ``actions``); see the module docstring."""

    def __init__(self, case: dict):
        self.state = set(case["facts"])
        self.actions = [Action(a["do"], frozenset(a.get("needs", ())), frozenset(a.get("adds", ())),
                               frozenset(a.get("removes", ()))) for a in case["actions"]]
        self.names = list(dict.fromkeys(a.do for a in self.actions))  # distinct texts, first-seen order

    def resolve(self, text: str) -> str:
        """The action text an answer names: itself when it is one, else the longest action text
        it contains as whole words ("I will take the brass key." -> "take the brass key")."""
        key = normalise(text)
        if key in map(normalise, self.names):
            return key
        padded = f" {key} "
        inside = [normalise(n) for n in self.names if f" {normalise(n)} " in padded]
        return max(inside, key=len, default=key)

    def step(self, text: str) -> bool:
        """Do the action ``text`` names (:meth:`resolve`); True when it was valid (the state changed
        accordingly), False when it names no action or one that cannot be done now."""
        key = self.resolve(text)
        for a in self.actions:
            if normalise(a.do) == key and a.needs <= self.state:
                self.state = (self.state - a.removes) | a.adds
                return True
        return False

    def admissible(self) -> list[str]:
        """The distinct action texts that can be done now and would change something."""
        return list(dict.fromkeys(a.do for a in self.actions
                                  if a.needs <= self.state and (a.adds - self.state or a.removes & self.state)))

    def describe(self) -> str:
        return "; ".join(sorted(self.state)) + "."


@dataclass(frozen=True)
class Episode:
    """What happened when ``actions`` were played in a case's environment."""

    valid: tuple[bool, ...]
    reached: frozenset[str]
    success: bool


def replay(case: dict, actions: list[str], max_steps: int) -> Episode:
    """Play ``actions`` (at most ``max_steps``) until the goal (the last subgoal) holds.

    A subgoal counts as reached when it held at any point of the episode, as in
    AgentBoard's progress rate: a key used up on a door was still found.
    """
    env = TextEnvironment(case)
    subgoals, goal = set(case["subgoals"]), case["subgoals"][-1]
    reached = subgoals & env.state
    valid: list[bool] = []
    for text in actions[:max_steps]:
        if goal in env.state:
            break
        valid.append(env.step(text))
        reached |= subgoals & env.state
    return Episode(tuple(valid), frozenset(reached), goal in env.state)


# --- generators ------------------------------------------------------------------------

def _act(do: str, needs=(), adds=(), removes=()) -> dict:
    return {"do": do, "needs": list(needs), "adds": list(adds), "removes": list(removes)}


def rooms_case(rng: random.Random, distractors: int) -> dict:
    hub, key_room, locked, *others = rng.sample(_ROOMS, 3 + distractors)
    metal, treasure = rng.choice(_METALS), rng.choice(_TREASURES)
    key = f"{metal} key"
    things = {key: key_room, treasure: locked, **dict(zip(rng.sample(_CLUTTER, distractors), others))}
    at = "you are in the {}".format
    is_locked, is_open = f"the {locked} door is locked", f"the {locked} door is unlocked"
    holds_key = f"you hold the {key}"
    facts = [at(hub), is_locked] + [f"the {t} is in the {r}" for t, r in things.items()]
    actions = [_act(f"unlock the {locked} door with the {key}", [at(hub), holds_key, is_locked],
                    [is_open], [is_locked])]
    for room in (key_room, locked, *others):
        door = [is_open] if room == locked else []
        actions.append(_act(f"go to the {room}", [at(hub), *door], [at(room)], [at(hub)]))
        actions.append(_act(f"go back to the {hub}", [at(room)], [at(hub)], [at(room)]))
    for thing, room in things.items():
        actions.append(_act(f"take the {thing}", [at(room), f"the {thing} is in the {room}"],
                            [f"you hold the {thing}"], [f"the {thing} is in the {room}"]))
    rng.shuffle(actions)
    return {"env": "rooms", "goal": f"Take the {treasure}. It is in the {locked}, whose door is locked.",
            "facts": facts, "actions": actions,
            "subgoals": [holds_key, is_open, at(locked), f"you hold the {treasure}"]}


def files_case(rng: random.Random, distractors: int) -> dict:
    new, src, *others = rng.sample(_FOLDERS, 2 + distractors)
    target, *clutter = rng.sample(_FILES, 1 + distractors)
    where = {target: src, **dict(zip(clutter, [src, *others]))}
    cwd = "you are in {}".format
    facts = [cwd("home"), f"there is no folder {new}"] + [f"{f} is in {d}" for f, d in where.items()]
    actions = [_act(f"mkdir {new}", [cwd("home"), f"there is no folder {new}"], [f"folder {new} exists"],
                    [f"there is no folder {new}"])]
    for folder in (src, *others):
        actions.append(_act(f"cd {folder}", [cwd("home")], [cwd(folder)], [cwd("home")]))
        actions.append(_act("cd ..", [cwd(folder)], [cwd("home")], [cwd(folder)]))
    for f, d in where.items():
        here = [cwd(d), f"{f} is in {d}"]
        actions.append(_act(f"rm {f}", here, [f"{f} is deleted"], [f"{f} is in {d}"]))
        for dest in (new, *others):
            if dest != d:
                exists = [f"folder {new} exists"] if dest == new else []
                actions.append(_act(f"mv {f} ../{dest}", [*here, *exists], [f"{f} is in {dest}"], [f"{f} is in {d}"]))
    rng.shuffle(actions)
    return {"env": "files", "goal": f"Make a folder named {new} in home, then move {target} from {src} into it.",
            "facts": facts, "actions": actions,
            "subgoals": [f"folder {new} exists", cwd(src), f"{target} is in {new}"]}


def crafting_case(rng: random.Random, distractors: int) -> dict:
    item = rng.choice(sorted(_RECIPES))
    needed = _RECIPES[item]
    spare = rng.sample([m for m in sorted(_MATERIALS) if m not in needed], distractors)
    other_items = rng.sample([i for i in sorted(_RECIPES) if i != item], distractors)
    have = "you have {}".format
    actions = [_act(_MATERIALS[m], [], [have(m)]) for m in (*needed, *spare)]
    for it in (item, *other_items):
        parts = [have(m) for m in _RECIPES[it]]
        actions.append(_act(f"craft {it}", parts, [have(it)], parts))
    rng.shuffle(actions)
    places = sorted(_MATERIALS[m].split(" ", 1)[1] for m in (*needed, *spare))
    return {"env": "crafting", "goal": f"Craft {item}. It is made from {needed[0]} and {needed[1]}.",
            "facts": [f"{p} is here" for p in places], "actions": actions,
            "subgoals": [have(needed[0]), have(needed[1]), have(item)]}


GENERATORS = {"rooms": rooms_case, "files": files_case, "crafting": crafting_case}
