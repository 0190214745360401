"""The roster's channel column (WhatsApp / SMS / automatic): read in free words, updated like any field."""

import pytest

from backend.imports.models import ImportRow
from backend.volunteers.models import Volunteer
from tests.factories import VolunteerFactory

from .conftest import ROSTER_HEADER, run_roster, xlsx

pytestmark = pytest.mark.django_db

HEADER = [*ROSTER_HEADER, "Canal de contacto"]


def _rows(batch) -> dict[int, ImportRow]:
    return {r.row_number: r for r in batch.rows.all()}


def test_channel_column_sets_the_channel_and_an_unknown_value_is_a_warning(geo):
    data = xlsx(
        [
            HEADER,
            ["Uno", "30111111", "351 15 412 3456", "", "", "", "WhatsApp"],
            ["Dos", "30222222", "351 15 412 3457", "", "", "", "sms"],
            ["Tres", "30333333", "351 15 412 3458", "", "", "", "paloma mensajera"],
            ["Cuatro", "30444444", "351 15 412 3459", "", "", "", ""],
        ]
    )
    batch = run_roster(geo.election, data)
    channels = dict(Volunteer.objects.values_list("dni", "channel"))
    assert channels == {"30111111": "whatsapp", "30222222": "sms", "30333333": "auto", "30444444": "auto"}
    row = _rows(batch)[4]
    assert row.has_warning and "canal no reconocido" in row.reason and "paloma" in row.reason


def test_a_changed_channel_is_listed_among_the_changes(geo):
    VolunteerFactory(dni="30123456", first_name="María", last_name="García", phone="+5493514123456", email="")
    batch = run_roster(
        geo.election, xlsx([HEADER, ["GARCÍA, María", "30123456", "351 15 412 3456", "", "", "", "wsp"]])
    )
    assert Volunteer.objects.get().channel == "whatsapp"
    assert _rows(batch)[2].reason == "cambió: canal"
