from django.db import migrations, models
from django.db.models import F


def from_answer_edits(apps, schema_editor):
    # The one content change recorded so far: an editor's change of the answer.
    Article = apps.get_model("articles", "Article")
    Article._base_manager.exclude(answer_edited_at=None).update(
        content_changed_at=F("answer_edited_at")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0011_images"),
    ]

    operations = [
        migrations.AddField(
            model_name="article",
            name="content_changed_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text=(
                    "When readers' text (title, question, answer) last changed after the "
                    "posting date: an editor's change, or an import of a changed file that "
                    "keeps its date. Empty: unchanged since the posting date (a file with a "
                    "new date clears it). The article's modified time (sitemaps, feeds, page "
                    "head) is this, else the posting date."
                ),
                null=True,
            ),
        ),
        migrations.RunPython(from_answer_edits, migrations.RunPython.noop),
    ]
