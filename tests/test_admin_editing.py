"""The article form for a new article (defaults, titles that follow the question, the slug),
the article list's search over question and answer, and the previews beside the form."""

import re

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from articles.admin.previews import cut
from articles.models import Article, Subject
from tests.test_admin import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client):
    user = User.objects.create_user("edna", password="pw-for-tests", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    client.force_login(user)
    return client


ADD = reverse("admin:articles_article_add")


def add_form(client, subject=None):
    params = {}
    if subject is not None:
        # What the changelist's "Add" button passes on when the list is filtered.
        params["_changelist_filters"] = f"subject__id__exact={subject.pk}&visibility=draft"
    return client.get(ADD, params)


# A new article ------------------------------------------------------------------------------


def test_add_form_starts_as_a_draft_dated_today_in_the_filtered_subject(editor_client, sample_site):
    subject = Subject.objects.get(slug="mathematics")
    form = add_form(editor_client, subject).context["adminform"].form
    # Editors do not set the status (a new article of theirs is a draft, see
    # test_admin_review.py); publishers find it set to draft.
    assert "status" not in form.fields
    assert form["date"].value() == timezone.localdate()
    assert str(form["subject"].value()) == str(subject.pk)


def test_add_form_without_a_filter_leaves_the_subject_to_choose(editor_client, sample_site):
    form = add_form(editor_client).context["adminform"].form
    assert form["subject"].value() in (None, "")


def test_a_publishers_add_form_starts_as_a_draft(client, sample_site):
    user = User.objects.create_user("paula", password="pw-for-tests", is_staff=True)
    user.groups.add(Group.objects.get(name="Publishers"))
    client.force_login(user)
    form = add_form(client).context["adminform"].form
    assert form["status"].value() == Article.Status.DRAFT
    assert form["date"].value() == timezone.localdate()


def test_a_new_article_saves_first_time_with_question_subject_and_answer(
    editor_client, sample_site
):
    subject = Subject.objects.get(slug="mathematics")
    data = form_data(add_form(editor_client, subject))
    # The editor types the question and the answer; everything else is as the form came.
    data.update(question="Why does a spinning top stay upright?", answer="Angular momentum.")
    response = editor_client.post(ADD, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    created = Article.objects.get(question="Why does a spinning top stay upright?")
    assert created.subject == subject
    assert created.subject_name == subject.title
    assert created.title == created.article_title == created.question
    assert created.slug == "why-does-a-spinning-top-stay-upright"
    assert created.status == Article.Status.DRAFT
    assert created.date == timezone.localdate()
    assert "Angular momentum" in created.answer_html


def test_an_empty_slug_taken_in_the_subject_gets_a_number(editor_client, sample_site):
    taken = Article.objects.select_related("subject").first()
    data = form_data(add_form(editor_client, taken.subject))
    data.update(question=taken.question, answer="Another answer.")
    assert editor_client.post(ADD, data).status_code == 302
    copy = Article.objects.exclude(pk=taken.pk).get(subject=taken.subject, question=taken.question)
    assert copy.slug.startswith(taken.slug[:200]) and copy.slug != taken.slug


def test_titles_set_apart_in_the_advanced_section_are_kept(editor_client, sample_site):
    data = form_data(add_form(editor_client, Subject.objects.get(slug="mathematics")))
    data.update(
        question="What is torque?", answer="A turning force.", title="Torque", slug="torque"
    )
    assert editor_client.post(ADD, data).status_code == 302
    created = Article.objects.get(slug="torque")
    assert (created.title, created.article_title) == ("Torque", "What is torque?")


def test_titles_follow_a_changed_question_unless_set_apart(editor_client, sample_site):
    obj = Article.objects.first()
    # Not live: an editor's save writes it (a live one's would be a draft for review).
    obj.status = Article.Status.DRAFT
    obj.save()
    url = reverse("admin:articles_article_change", args=[obj.pk])
    data = form_data(editor_client.get(url))
    data["question"] = "A reworded question?"
    assert editor_client.post(url, data).status_code == 302
    obj.refresh_from_db()
    assert obj.title == obj.article_title == "A reworded question?"

    data = form_data(editor_client.get(url))
    data.update(question="Reworded again?", title="A title of its own")
    assert editor_client.post(url, data).status_code == 302
    obj.refresh_from_db()
    assert (obj.title, obj.article_title) == ("A title of its own", "Reworded again?")


def test_titles_sit_in_a_collapsed_section(editor_client, sample_site):
    html = add_form(editor_client).content.decode()
    titles = html[html.index(">Titles<") - 400 : html.index('name="article_title"')]
    assert "collapse" in titles and 'name="title"' in titles


def test_a_question_with_nothing_to_slugify_asks_for_a_slug(editor_client, sample_site):
    data = form_data(add_form(editor_client, Subject.objects.get(slug="mathematics")))
    data.update(question="???", answer="x")
    response = editor_client.post(ADD, data)
    assert response.status_code == 200
    assert "no letters or digits" in str(response.context["adminform"].form.errors)


# Finding articles in the list -------------------------------------------------------------

CHANGELIST = reverse("admin:articles_article_changelist")


def make_article(slug, question, answer, date, status=Article.Status.PUBLISHED):
    return Article.objects.create(
        subject=Subject.objects.get(slug="mathematics"),
        slug=slug,
        title=question,
        question=question,
        answer=answer,
        date=date,
        status=status,
    )


def listed(client, term, **params):
    response = client.get(CHANGELIST, {"q": term, **params})
    assert response.status_code == 200
    return [a.slug for a in response.context["cl"].result_list]


def test_search_finds_words_of_the_answer_in_drafts_too(editor_client, sample_site):
    make_article("sky", "Why is the sky blue?", "Because of Rayleigh scattering.", "2024-01-01")
    make_article(
        "sunset", "Why are sunsets red?", "Rayleigh again.", "2024-01-02", Article.Status.DRAFT
    )
    assert sorted(listed(editor_client, "rayleigh")) == ["sky", "sunset"]


def test_search_lists_the_best_match_first(editor_client, sample_site):
    # The newest article mentions the words once in its answer; the oldest is about them.
    make_article(
        "mentions",
        "How do clouds form?",
        "Water vapour condenses; unlike Rayleigh scattering, nothing is scattered.",
        "2025-06-01",
    )
    make_article(
        "about",
        "What is Rayleigh scattering?",
        "Rayleigh scattering is the scattering of light by particles much smaller than "
        "its wavelength.",
        "2001-01-01",
    )
    assert listed(editor_client, "rayleigh scattering") == ["about", "mentions"]
    # Sorting by a column still sorts by it.
    assert listed(editor_client, "rayleigh scattering", o="-3") == ["mentions", "about"]


def test_search_keeps_the_list_filters(editor_client, sample_site):
    make_article("sky", "Why is the sky blue?", "Rayleigh scattering.", "2024-01-01")
    make_article("sunset", "Why are sunsets red?", "Rayleigh.", "2024-01-02", "draft")
    assert listed(editor_client, "rayleigh", visibility="draft") == ["sunset"]


def test_search_still_finds_part_of_a_word_in_the_question(editor_client, sample_site):
    # What an autocomplete box sends while a word is being typed.
    make_article("sky", "Why is the sky blue?", "Rayleigh scattering.", "2024-01-01")
    assert listed(editor_client, "Why is the sk") == ["sky"]


# Previews -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Short enough", 60, "Short enough"),
        ("  spaces   are\n collapsed ", 60, "spaces are collapsed"),
        ("a" * 60, 60, "a" * 60),
        ("one two three four", 12, "one two…"),
        ("one two three, four", 15, "one two three…"),
        ("one two | three", 10, "one two…"),
        ("x" * 30, 10, "x" * 9 + "…"),
        ("", 10, ""),
    ],
)
def test_cut_keeps_whole_words_and_ends_with_an_ellipsis(text, limit, expected):
    assert cut(text, limit) == expected
    assert len(cut(text, limit)) <= limit


def serp_of(response):
    html = response.content.decode()
    return html[html.index('<div class="serp"') : html.index("</div>", html.index("serp__note"))]


def test_change_form_shows_the_search_result_cut_as_search_engines_cut_it(
    editor_client, sample_site
):
    obj = Article.objects.select_related("subject").get(
        slug="how-do-you-differentiate-a-composite-function-with-the-chain-rule"
    )
    obj.seo_description = "The chain rule differentiates a composite function. " * 5
    obj.save()
    serp = serp_of(editor_client.get(reverse("admin:articles_article_change", args=[obj.pk])))
    title = re.search(r'class="serp__title"[^>]*>([^<]*)<', serp)[1]
    description = re.search(r'class="serp__description"[^>]*>([^<]*)<', serp)[1]
    # The page's title is longer than 60 characters: cut at a word, with an ellipsis.
    assert title.endswith("…") and len(title) <= 60
    assert obj.question.startswith(title[:-1])
    assert description.endswith("…") and len(description) <= 160
    assert "learn.example.com › learn › mathematics › questions › " + obj.slug in serp


def test_search_result_without_description_shows_the_start_of_the_answer(
    editor_client, sample_site
):
    obj = Article.objects.exclude(seo_description="").first()
    obj.seo_description = ""
    obj.save()
    serp = serp_of(editor_client.get(reverse("admin:articles_article_change", args=[obj.pk])))
    assert "serp__description--from-answer" in serp
    first_words = " ".join(re.sub(r"<[^>]+>", " ", obj.answer_html).split()[:3])
    assert first_words.split()[0] in serp


def test_search_result_shows_what_a_refused_form_holds(editor_client, sample_site):
    data = form_data(add_form(editor_client, Subject.objects.get(slug="mathematics")))
    data.update(question="Why??", answer="", seo_description="Typed, not saved.")
    response = editor_client.post(ADD, data)
    assert response.status_code == 200  # the answer is required
    serp = serp_of(response)
    assert "Why?? | Mathematics | QuickTakes Learn" in serp
    assert "Typed, not saved." in serp


def test_answer_preview_offers_a_phone_width_that_is_never_submitted(editor_client, sample_site):
    html = add_form(editor_client).content.decode()
    checkbox = re.search(r'<input type="checkbox" id="id_answer_preview_phone"[^>]*>', html)[0]
    assert "name=" not in checkbox
    assert "Phone width (375 px)" in html
