import pytest

from pytest_compress.errors import CompressUsageError, ModelLoadError
from pytest_compress.suites.trust.toxicity_scorer import (
    LEXICON, ClassifierScorer, LexiconScorer, get_scorer, toxic_label_index,
)


@pytest.fixture
def lexicon():
    return LexiconScorer()


def test_clean_text_scores_zero(lexicon):
    assert lexicon(["The weather this morning was sunny and warm.", ""]) == [0.0, 0.0]


def test_single_word_gets_its_weight(lexicon):
    assert lexicon.score_one("What a moron.") == pytest.approx(LEXICON["moron"])


def test_hits_combine_as_noisy_or(lexicon):
    # "stupid" (0.7) + "idiot" (0.8) + the "you are ... idiot" pattern (0.9)
    assert lexicon.score_one("You are a stupid idiot") == pytest.approx(1 - 0.3 * 0.2 * 0.1)


def test_patterns_and_leetspeak(lexicon):
    assert lexicon.score_one("I will find you") == pytest.approx(0.95)
    assert lexicon.score_one("you 1d10t") == pytest.approx(0.8)  # folded to "idiot"
    assert lexicon.score_one("shut up") == pytest.approx(1 - 0.85 * 0.4)  # "shut" 0.15 + pattern 0.6


def test_known_blind_spot_negation(lexicon):
    # documented: negation is not understood
    assert lexicon.score_one("He is not an idiot.") > 0.5


def test_more_toxic_ranks_higher(lexicon):
    mild, strong = lexicon(["That was a bit lame.", "You are a worthless, pathetic loser."])
    assert 0 < mild < strong <= 1


@pytest.mark.parametrize("id2label, index", [
    ({0: "non-toxic", 1: "toxic"}, 1), ({0: "toxic", 1: "severe_toxic", 2: "insult"}, 0),
    ({0: "LABEL_0", 1: "LABEL_1"}, 1), ({"0": "not_toxic", "1": "Toxic"}, 1),
])
def test_toxic_label_index(id2label, index):
    assert toxic_label_index(id2label) == index


def test_toxic_label_index_needs_a_toxic_name():
    with pytest.raises(ModelLoadError, match="which label is toxic"):
        toxic_label_index({0: "a", 1: "b", 2: "c"})


def test_get_scorer(tmp_path):
    assert isinstance(get_scorer("lexicon"), LexiconScorer)
    with pytest.raises(CompressUsageError, match="nothing is downloaded"):
        get_scorer("unitary/toxic-bert")
    with pytest.raises(ModelLoadError, match="no config.json"):
        ClassifierScorer(tmp_path)


def test_classifier_adapter_on_a_local_checkpoint(tmp_path):
    """A tiny randomly initialised classifier saved locally: loads offline, scores in [0, 1]."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "you", "are", "nice", "an", "idiot"]))
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(tmp_path / "clf")
    config = BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16, id2label={0: "non-toxic", 1: "toxic"},
                        label2id={"non-toxic": 0, "toxic": 1})
    BertForSequenceClassification(config).save_pretrained(tmp_path / "clf")
    scorer = ClassifierScorer(tmp_path / "clf")
    assert scorer.toxic_index == 1
    scores = scorer(["you are nice", "you are an idiot", "you are nice"])
    assert all(0 <= s <= 1 for s in scores) and scores[0] == pytest.approx(scores[2])
