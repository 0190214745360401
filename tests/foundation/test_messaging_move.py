"""The messaging models moved from the sms app to backend.messaging: same tables, no data moved."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from backend.messaging.models import InboundMessage, MessageTemplate

# The schema as it was before the move: the sms app owned the models, messaging did not exist.
BEFORE_MOVE = [("sms", "0002_broadcast_lifecycle"), ("messaging", None)]


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_move_are_read_through_the_messaging_models():
    # given: a database at the schema before the move, with messages and a text override in it
    _migrate(BEFORE_MOVE)
    old = MigrationExecutor(connection).loader.project_state([BEFORE_MOVE[0]]).apps
    old.get_model("sms", "InboundMessage").objects.create(sid="SM-before-move", from_number="+5493510000000", body="SI")
    old.get_model("sms", "MessageTemplate").objects.create(kind="help", body="Ayuda de antes")
    content_type_id = ContentType.objects.get(app_label="sms", model="inboundmessage").pk

    # when: the move migrations run
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    # then: the same rows, through the new app, and the content type (admin log, permissions) followed
    assert InboundMessage.objects.get(sid="SM-before-move").body == "SI"
    assert MessageTemplate.objects.get(kind="help").body == "Ayuda de antes"
    assert InboundMessage._meta.db_table == "sms_inboundmessage"
    assert ContentType.objects.get_for_model(InboundMessage).pk == content_type_id
    assert not ContentType.objects.filter(app_label="sms", model="inboundmessage").exists()
