"""Search over real corpus articles: the issue's examples (skips when the corpus is absent).

"derivative chain rule" once ranked expert-system "forward chaining" articles (whose
"derived facts" stem like "derivative") above calculus answers holding the phrase;
"derivitive" found nothing; snippets showed "( 4 x − 3 ) 5" for (4x − 3)^5.
"""

import pytest

from articles import search
from articles.importing import import_paths
from tests.conftest import CORPUS

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain_rule_and_chaining(corpus):
    """The corpus's calculus answers that hold "chain rule" and its expert-system answers
    about forward chaining, imported."""
    learn = corpus / "learn"
    calculus = [
        p
        for p in (learn / "mathematics").glob("*.md")
        if "chain rule" in p.read_text() and "derivative" in p.read_text()
    ]
    chaining = [
        p for p in (learn / "computer-science").glob("*.md") if "forward chaining" in p.read_text()
    ]
    assert len(calculus) >= 5 and len(chaining) >= 3
    report = import_paths([*calculus, *chaining], workers=1)
    assert not report.errors
    return {p.stem for p in calculus}, {p.stem for p in chaining}


def test_calculus_answers_holding_the_phrase_outrank_forward_chaining(chain_rule_and_chaining):
    calculus, chaining = chain_rule_and_chaining
    hits = [hit.article.slug for hit in search.search("derivative chain rule")[0:20]]
    assert hits[:3] and set(hits[:3]) <= calculus
    ranks = {slug: rank for rank, slug in enumerate(hits)}
    first_chaining = min((ranks[s] for s in chaining if s in ranks), default=len(hits))
    calculus_ranks = [ranks[s] for s in calculus if s in ranks]
    assert calculus_ranks and max(calculus_ranks) < first_chaining


def test_a_misspelled_word_finds_the_calculus_answers(chain_rule_and_chaining):
    calculus, _ = chain_rule_and_chaining
    results = search.search("derivitive chain rule")
    assert results.corrected
    assert results.suggestion.text == "derivative chain rule"
    assert results[0:1][0].article.slug in calculus


def test_snippets_write_formulas_as_students_do(chain_rule_and_chaining):
    example = "can-you-give-an-example-of-how-to-apply-the-chain-rule"
    (hit,) = [hit for hit in search.search("4x")[0:20] if hit.article.slug == example]
    snippet = str(hit.snippet_html).replace("<mark>", "").replace("</mark>", "")
    assert "= 4x − 3" in snippet
    assert "4 x" not in snippet


def test_the_corpus_is_where_the_tests_read_it():
    assert CORPUS.name == "corpus"
