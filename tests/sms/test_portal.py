"""Magic links and "Mi asignación": a GET never confirms; POST with CSRF does; bad links are refused."""

import time

import pytest
from django.test import Client

from backend.accounts.models import Role, User
from backend.accounts.services import magic_link_issue, magic_links_bulk
from backend.assignments.models import AssignmentRole, AssignmentStatus
from backend.assignments.services import assignment_create
from backend.core.exceptions import ApplicationError
from backend.volunteers.models import Volunteer

from ..factories import VolunteerFactory

pytestmark = pytest.mark.django_db


def _path(link: str) -> str:
    return link.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


@pytest.fixture
def volunteer_without_user(geo):
    volunteer = VolunteerFactory(first_name="Lucía", last_name="Gómez", area=geo.north_town)
    assignment_create(
        volunteer=volunteer,
        place=geo.north_place,
        table=geo.north_tables[1],
        role=AssignmentRole.TABLE,
        source="admin",
        notify=False,
    )
    return volunteer


def test_link_creates_the_user_on_demand_and_carries_128_bits(volunteer_without_user):
    link = magic_link_issue(volunteer=volunteer_without_user)
    volunteer_without_user.refresh_from_db()
    assert volunteer_without_user.user is not None
    assert volunteer_without_user.user.role == Role.VOLUNTEER
    assert not volunteer_without_user.user.has_usable_password()
    token = link.rsplit("/", 1)[1]
    # pk (4 bytes) + timestamp (4 bytes) + signature (16 bytes = 128 bits), base64url
    assert len(token) >= 32


def test_a_get_on_the_link_logs_in_but_never_confirms(client, volunteer_without_user):
    # given
    link = magic_link_issue(volunteer=volunteer_without_user)
    # when: a link scanner (or the person) opens it
    response = client.get(_path(link), follow=True)
    # then: the page shows the assignment, untouched
    page = response.content.decode()
    assert response.status_code == 200
    assert "Escuela Norte" in page and "Mesa 2" in page and "google.com/maps" in page
    assignment = volunteer_without_user.assignments.get()
    assert assignment.status == AssignmentStatus.PROPOSED
    assert 'method="post"' in page and "csrfmiddlewaretoken" in page
    volunteer_without_user.refresh_from_db()
    assert volunteer_without_user.last_seen_web_at is not None


def test_post_with_csrf_confirms(volunteer_without_user):
    # given: a browser that enforces CSRF like a real one
    browser = Client(enforce_csrf_checks=True)
    browser.get(_path(magic_link_issue(volunteer=volunteer_without_user)), follow=True)
    # when: a POST without the token
    assert browser.post("/mi/confirmar/").status_code == 403
    assert volunteer_without_user.assignments.get().status == AssignmentStatus.PROPOSED
    # when: the form's POST
    token = browser.cookies["csrftoken"].value
    response = browser.post("/mi/confirmar/", {"csrfmiddlewaretoken": token}, follow=True)
    # then
    assert "Confirmaste" in response.content.decode()
    assignment = volunteer_without_user.assignments.get()
    assert assignment.status == AssignmentStatus.CONFIRMED
    assert assignment.events.get(to_status="confirmed").source == "web"


def test_decline_from_the_page(client, volunteer_without_user):
    client.get(_path(magic_link_issue(volunteer=volunteer_without_user)))
    client.post("/mi/no-puedo/")
    assert volunteer_without_user.assignments.get().status == AssignmentStatus.DECLINED


def test_page_shows_the_place_watcher(client, geo, volunteer_without_user):
    watcher = VolunteerFactory(first_name="Pedro", last_name="Fiscal", phone="+5493510000001")
    assignment_create(volunteer=watcher, place=geo.north_place, role=AssignmentRole.PLACE, source="admin", notify=False)
    client.get(_path(magic_link_issue(volunteer=volunteer_without_user)))
    page = client.get("/mi/").content.decode()
    assert "Pedro Fiscal" in page and "tel:+5493510000001" in page
    assert f"/hilos/{geo.north_place.pk}/" in page


def test_invalid_and_tampered_links_are_refused(client, volunteer_without_user):
    link = magic_link_issue(volunteer=volunteer_without_user)
    tampered = link[:-2] + ("AA" if not link.endswith("AA") else "BB")
    for path in (_path(tampered), "/a/nonsense"):
        response = client.get(path)
        assert response.status_code == 403
        assert "venció" in response.content.decode()
    assert client.get("/mi/").status_code == 403


def test_expired_link_is_refused(client, volunteer_without_user, settings, monkeypatch):
    link = magic_link_issue(volunteer=volunteer_without_user)
    later = time.time() + settings.SESAME_MAX_AGE + 60
    monkeypatch.setattr("sesame.tokens_v2.time.time", lambda: later)
    assert client.get(_path(link)).status_code == 403


def test_staff_cannot_be_logged_in_by_a_volunteer_link(client, volunteer_without_user):
    # a link only ever logs in the volunteer's own user
    link = magic_link_issue(volunteer=volunteer_without_user)
    client.get(_path(link))
    assert int(client.session["_auth_user_id"]) == volunteer_without_user.user_id


def test_issuing_links_is_rate_limited(volunteer_without_user, settings):
    settings.MAGIC_LINK_RATE_PER_HOUR = 3
    for _ in range(3):
        magic_link_issue(volunteer=volunteer_without_user)
    with pytest.raises(ApplicationError) as error:
        magic_link_issue(volunteer=volunteer_without_user)
    assert error.value.code == "link_rate_limited"


def test_bulk_links_create_missing_users_and_log_in(client, geo, north_volunteer):
    # given: one volunteer with a user, three without
    others = [VolunteerFactory() for _ in range(3)]
    rows = list(
        Volunteer.objects.filter(pk__in=[north_volunteer.pk, *[v.pk for v in others]])
        .order_by("pk")
        .values("id", "first_name", "last_name", "user_id")
    )
    # when
    links = magic_links_bulk(volunteers=rows)
    # then
    assert set(links) == {row["id"] for row in rows}
    for v in others:
        v.refresh_from_db()
        assert v.user is not None and v.user.username == f"fiscal-{v.pk}"
    assert User.objects.filter(username__startswith="fiscal-").count() == 3
    # and each link logs its own volunteer in
    client.get(_path(links[others[1].pk]))
    assert int(client.session["_auth_user_id"]) == others[1].user_id
