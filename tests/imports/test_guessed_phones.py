"""Numbers written without an area code: inferred from the person's locality or where they vote,
the default last; every completed number is stored unverified and the report says which rule."""

import pytest

from backend.imports.models import ImportRow
from backend.volunteers.models import PhoneRule, Volunteer
from tests.factories import VolunteerFactory

from .conftest import ROSTER_HEADER, run_roster, xlsx

pytestmark = pytest.mark.django_db


def _rows(batch) -> dict[int, ImportRow]:
    return {r.row_number: r for r in batch.rows.all()}


def test_a_mixed_cities_roster_takes_each_persons_own_area_code(geo):
    # given: people from three cities, a default of 351 (Córdoba capital), one full number
    data = xlsx(
        [
            ROSTER_HEADER,
            ["Uno Rio", "30111001", "15-412-3456", "", "Río Cuarto", ""],
            ["Dos Jesus", "30111002", "15 41 2345", "", "", "Escuela Norte"],
            ["Tres Nadie", "30111003", "15-412-3458", "", "", ""],
            ["Cuatro Full", "30111004", "+54 9 11 4567 8901", "", "", ""],
        ]
    )
    # when
    batch = run_roster(geo.election, data, default_area_code="0351")
    # then: Río Cuarto's 358, Jesús María's 3525 (where she votes), the default only for the last one
    people = {v.dni: v for v in Volunteer.objects.all()}
    assert people["30111001"].phone == "+5493584123456"
    assert people["30111002"].phone == "+5493525412345"
    assert people["30111003"].phone == "+5493514123458"
    assert people["30111004"].phone == "+5491145678901"
    assert [people[d].phone_rule for d in ("30111001", "30111002", "30111003", "30111004")] == [
        PhoneRule.LOCALITY,
        PhoneRule.VOTES_AT,
        PhoneRule.DEFAULT,
        PhoneRule.WRITTEN,
    ]
    # every completed number waits for its owner's SI; a number written in full does not
    assert [people[d].phone_verified for d in ("30111001", "30111002", "30111003", "30111004")] == [
        False,
        False,
        False,
        True,
    ]
    # and the report says which rule completed each number
    rows = _rows(batch)
    assert "se usó 358, el de su localidad «Río Cuarto»" in rows[2].reason
    assert "se usó 3525, el de donde vota («Jesús María»)" in rows[3].reason
    assert "se usó 351, el código por defecto" in rows[4].reason
    assert "sin verificar" in rows[2].reason and rows[2].has_warning
    assert 5 not in rows or not rows[5].has_warning  # written in full: nothing to say


def test_the_locality_completes_a_number_even_without_a_default(geo):
    batch = run_roster(geo.election, xlsx([ROSTER_HEADER, ["Uno Rio", "30111001", "15-412-3456", "", "Río Cuarto"]]))
    assert batch.created == 1
    assert Volunteer.objects.get().phone == "+5493584123456"


def test_a_number_that_does_not_fit_its_locality_code_falls_back_and_says_so(geo):
    # given: eight local digits (a Buenos Aires number) from someone in Río Cuarto (358 takes seven)
    data = xlsx([ROSTER_HEADER, ["Ocho", "30111009", "15 4567 8901", "", "Río Cuarto"]])
    # when: no default either
    batch = run_roster(geo.election, data)
    # then: rejected with the reason, never completed with a code that does not fit
    assert batch.rejected == 1 and not Volunteer.objects.exists()
    assert "código de área" in _rows(batch)[2].reason


def test_reimporting_a_guessed_number_keeps_a_verified_phone_verified(geo):
    # given: a volunteer whose number was completed and who answered SI from it
    VolunteerFactory(
        dni="30111001", first_name="Uno", last_name="Rio", phone="+5493584123456", area=geo.south_town, email=""
    )
    # when: the same roster line arrives again
    batch = run_roster(geo.election, xlsx([ROSTER_HEADER, ["Rio, Uno", "30111001", "15-412-3456", "", "Río Cuarto"]]))
    # then
    volunteer = Volunteer.objects.get()
    assert volunteer.phone_verified is True
    assert batch.updated == 0


def test_the_console_shows_who_is_unverified(client, geo, lead):
    VolunteerFactory(
        first_name="Guess", last_name="Ed", phone="+5493514123458", phone_verified=False, phone_rule="default"
    )
    sure = VolunteerFactory(first_name="Sure", last_name="Ly")
    client.force_login(lead)
    listing = client.get("/consola/fiscales/?q=Ed").content.decode()
    assert "celular sin verificar" in listing
    guessed = Volunteer.objects.get(first_name="Guess")
    profile = client.get(f"/consola/fiscales/{guessed.pk}/").content.decode()
    assert "Celular sin verificar" in profile and "código de área por defecto" in profile
    assert "sin verificar" not in client.get(f"/consola/fiscales/{sure.pk}/").content.decode()
