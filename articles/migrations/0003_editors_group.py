from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("articles", "0002_canonical_redirects_publishing")]
    operations = []
