"""Seed for the log test: run as `python -m tests.sms.log_flow_support seed` with DATABASE_URL set.

Creates one election, a school, a volunteer with a DNI and a phone, assigns her (the notice is
relayed to the local SMS backend, with its sign-in link) and prints what the test must never find
in a log line, as JSON.
"""

import json
import os
import sys


def _seed() -> dict:
    import datetime

    from backend.assignments.services import assignment_create
    from backend.elections.models import Area, Election, PollingPlace, Table
    from backend.messaging.models import OutboundMessage
    from backend.volunteers.models import Volunteer
    from sms.services import notices_relay

    election = Election.objects.create(slug="logs", name="Logs", date=datetime.date(2027, 10, 24))
    district = Area.objects.create(election=election, kind="distrito", code="cba", name="Córdoba")
    place = PollingPlace.objects.create(
        election=election, area=district, code="L-1", name="ESCUELA NORMAL SUPERIOR DR AGUSTIN GARZON AGULLA"
    )
    table = Table.objects.create(election=election, place=place, district=district, number=2425)
    volunteer = Volunteer.objects.create(
        dni="27654321", first_name="Marisa", last_name="Quiroga", phone="+5493517654321", email="marisa@example.org"
    )
    assignment_create(volunteer=volunteer, place=place, table=table, role="table", source="web")
    notices_relay()
    text = OutboundMessage.objects.get(volunteer=volunteer).body
    return {"dni": volunteer.dni, "phone": volunteer.phone, "email": volunteer.email, "text": text}


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    django.setup()
    if sys.argv[1:] == ["seed"]:
        print(json.dumps(_seed()))
    else:
        raise SystemExit("usage: seed")
