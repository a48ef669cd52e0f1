
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('articles', '0012_content_changed_at'),
    ]

    operations = [
        migrations.AddField(
            model_name='subject',
            name='card',
            field=models.CharField(blank=True, default='', editable=False, help_text="The subject's share image (1200×630 PNG, for link previews) in storage: drawn when the subject is saved with a new title (articles.cards); empty until then, when pages show the site's card.", max_length=255),
        ),
    ]
