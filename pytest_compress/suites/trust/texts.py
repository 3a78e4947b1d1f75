"""Sentences the classification suites share (all written for this project).

Sentiment reviews (``review``), sentence pairs for paraphrase and entailment
(``paraphrase_pair``, ``entailment_pair``), each returning the text and its gold
label. ``adv_robustness`` perturbs them, ``ood`` restyles them, ``adv_demo``
builds demonstrations from them.
"""

from __future__ import annotations

POSITIVE, NEGATIVE = "Positive", "Negative"
YES, NO = "Yes", "No"
SENTIMENT_PROMPT = 'Review: "{text}"\nIs this review positive or negative?'
#: the answer sentences scored in choice mode, in the order of the labels
SENTIMENT_LABELS, SENTIMENT_OPTIONS = [POSITIVE, NEGATIVE], ["The review is positive.", "The review is negative."]


def sentiment_question(text: str, positive: bool) -> dict:
    """The case fields of a sentiment question about ``text``."""
    return {"prompt": SENTIMENT_PROMPT.format(text=text), "labels": SENTIMENT_LABELS, "options": SENTIMENT_OPTIONS,
            "answer": POSITIVE if positive else NEGATIVE}

THINGS = ("film", "soup", "hotel", "concert", "book", "pizza", "phone", "game", "museum", "coffee", "show", "bakery")
GOOD = ("wonderful", "excellent", "delightful", "fantastic", "lovely", "brilliant", "great", "superb")
BAD = ("terrible", "awful", "horrible", "dreadful", "disappointing", "boring", "bad", "disgusting")
GOOD_TAILS = ("I would happily go back.", "I loved every minute.", "I recommend it to everyone.")
BAD_TAILS = ("I want my money back.", "I hated every minute.", "I would not recommend it.")
#: meaning-keeping word swaps (adv_robustness) and their slang forms (ood)
SYNONYMS = {"wonderful": "marvellous", "excellent": "first-rate", "delightful": "charming", "fantastic": "terrific",
            "lovely": "pleasant", "brilliant": "splendid", "great": "grand", "superb": "outstanding",
            "terrible": "atrocious", "awful": "appalling", "horrible": "ghastly", "dreadful": "abysmal",
            "disappointing": "underwhelming", "boring": "tedious", "bad": "poor", "disgusting": "revolting",
            "film": "movie", "loved": "adored", "hated": "loathed", "recommend": "suggest"}
SLANG = {**{w: "fire" for w in GOOD}, **{w: "mid" for w in ("boring", "disappointing", "bad")},
         **{w: "trash" for w in ("terrible", "awful", "horrible", "dreadful", "disgusting")}}

NAMES = ("Anna", "Omar", "Lena", "Ravi", "Mia", "Tom", "Sara", "Jonas", "Kemi", "Paul")
ITEMS = ("apples", "a bicycle", "three books", "a red coat", "some bread", "a ticket", "two lamps", "a guitar")
ACTIONS = (("bought", "sold"), ("found", "lost"), ("borrowed", "lent"), ("painted", "washed"))


def review(rng, positive: bool) -> str:
    thing = rng.choice(THINGS)
    adjective = rng.choice(GOOD if positive else BAD)
    tail = rng.choice(GOOD_TAILS if positive else BAD_TAILS)
    return f"The {thing} was {adjective}. {tail}"


def entailment_pair(rng, entailed: bool) -> tuple[str, str]:
    """(premise, hypothesis): the hypothesis follows, or names the opposite action."""
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    did, opposite = rng.choice(ACTIONS)
    place = rng.choice(("at the market", "on Monday", "in town", "yesterday"))
    premise = f"{name} {did} {item} {place}."
    return premise, f"{name} {did if entailed else opposite} {item}."


def paraphrase_pair(rng, same: bool) -> tuple[str, str]:
    """Two sentences: the same review reworded with synonyms, or one with the opposite sentiment."""
    positive = rng.random() < 0.5
    first = review(rng, positive)
    second = swap_words(first) if same else review(rng, not positive)
    return first, second


def swap_words(text: str, words: dict[str, str] = SYNONYMS) -> str:
    """``text`` with every word found in ``words`` replaced (punctuation kept)."""
    out = []
    for token in text.split(" "):
        core = token.rstrip(".,!?")
        out.append(words.get(core, core) + token[len(core):])
    return " ".join(out)
