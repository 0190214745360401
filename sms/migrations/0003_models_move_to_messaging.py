# The models of this app moved to backend.messaging (its 0001 takes them over with their tables):
# here they only leave Django's state; no table is touched.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('sms', '0002_broadcast_lifecycle'),
        ('messaging', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='OutboundMessage'),
                migrations.DeleteModel(name='BroadcastRecipient'),
                migrations.DeleteModel(name='Broadcast'),
                migrations.DeleteModel(name='InboundMessage'),
                migrations.DeleteModel(name='MessageTemplate'),
            ],
        ),
    ]
