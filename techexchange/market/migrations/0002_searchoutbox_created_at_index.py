# Each node now follows the outbox instead of consuming it; a daily job deletes old rows by age.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('market', '0001_market_initial'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='searchoutbox',
            index=models.Index(fields=['created_at'], name='market_outbox_created_idx'),
        ),
    ]
