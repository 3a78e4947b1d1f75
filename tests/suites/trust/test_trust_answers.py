import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_compress.suites.trust.answers import (
    YES_NO_SYNONYMS, Answer, is_refusal, normalize, parse_label, read_choice, read_text,
)

LABELS = ["Yes", "No"]


@pytest.mark.parametrize("text, label", [
    ("Yes", "Yes"), ("  no.", "No"), ("YES!", "Yes"), ("**No**", "No"), ('"Yes"', "Yes"),
    ("Sure! The answer is: No", "No"), ("Answer: yes, because it is", "Yes"),
    ("I think yes.", "Yes"), ("Certainly, no", "No"), ("Nope, not at all", "No"),
    ("maybe", None), ("", None), ("Yes or no? Hard to say", None),
])
def test_parse_yes_no(text, label):
    assert parse_label(text, LABELS, YES_NO_SYNONYMS) == label


@pytest.mark.parametrize("text, label", [
    ("Not wrong.", "Not wrong"), ("wrong", "Wrong"), ("It is not wrong at all", "Not wrong"),
    ("Answer: WRONG", "Wrong"), ("neither", None),
])
def test_longer_label_wins_at_the_same_word(text, label):
    assert parse_label(text, ["Wrong", "Not wrong"]) == label


def test_earliest_label_wins():
    assert parse_label("I disagree, though I agree it is common", ["I agree", "I disagree"]) == "I disagree"
    assert parse_label("Positive. Not negative.", ["Positive", "Negative"]) == "Positive"


def test_normalize_strips_preambles_and_markup():
    assert normalize("Sure! Answer: **Positive**.") == ["positive"]
    assert normalize("Assistant: I'd say  NO") == ["no"]


@pytest.mark.parametrize("text", [
    "I'm sorry, but I can't help with that.", "I cannot share that information.", "Sorry, I won't do that",
    "As an AI, I do not have opinions.", "I am unable to answer.", "I’m sorry",
])
def test_refusals_detected(text):
    assert is_refusal(text)
    assert read_text(text, LABELS) == Answer(None, refused=True)


@pytest.mark.parametrize("text", ["Yes, it is fine.", "The sky is blue.", "I can help: no."])
def test_non_refusals(text):
    assert not is_refusal(text)


def test_read_text_unparsed():
    answer = read_text("The weather is nice.", LABELS)
    assert answer.unparsed and not answer.refused and answer.label is None


def test_read_choice():
    assert read_choice([-1.0, -2.0, -3.0], LABELS) == Answer("Yes")
    assert read_choice([-2.0, -1.0], LABELS) == Answer("No")
    assert read_choice([-3.0, -2.0, -1.0], LABELS) == Answer(None, refused=True)
    tie = read_choice([-1.0, -1.0, -5.0], LABELS)
    assert tie.unparsed
    assert read_choice([math.nan, -1.0, -2.0], LABELS).unparsed
    with pytest.raises(ValueError):
        read_choice([-1.0], LABELS)


@given(st.sampled_from(["yes", "no"]), st.sampled_from(["", " ", "\n", "  \t"]),
       st.sampled_from(["", ".", "!", "?", "**", "'"]), st.sampled_from(["", "Sure! ", "Answer: ", "I think "]),
       st.sampled_from([str.lower, str.upper, str.title]))
def test_parse_is_robust_to_surface_form(word, space, punct, preamble, case):
    text = f"{space}{preamble}{case(word)}{punct}"
    assert parse_label(text, LABELS) == word.title()
