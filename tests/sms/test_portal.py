"""Magic links and "Mi asignación": a GET never confirms; POST with CSRF does; bad links are refused."""

import datetime
import hashlib
import math

import pytest
from django.test import Client
from django.utils import timezone

from backend.accounts.models import Role, ShortLink, User
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


def test_link_is_short_carries_128_bits_and_only_its_hash_is_stored(volunteer_without_user, settings):
    link = magic_link_issue(volunteer=volunteer_without_user)
    volunteer_without_user.refresh_from_db()
    assert volunteer_without_user.user is not None
    assert volunteer_without_user.user.role == Role.VOLUNTEER
    assert not volunteer_without_user.user.has_usable_password()
    # the public base URL plus a path of at most 24 characters
    assert link.startswith(settings.PUBLIC_BASE_URL + "/")
    path = link[len(settings.PUBLIC_BASE_URL) :]
    key = path[1:]
    assert len(path) <= 24
    # 22 characters of 62 possible: 22 * log2(62) = 131 bits
    assert len(key) == 22 and key.isalnum() and 22 * math.log2(62) >= 128
    # the key itself is nowhere in the database, only its SHA-256
    row = ShortLink.objects.get(volunteer=volunteer_without_user)
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert not ShortLink.objects.filter(key_hash__contains=key).exists()
    assert row.expires_at > timezone.now() + datetime.timedelta(days=13)


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
    for path in (_path(tampered), "/a/nonsense", "/" + "A" * 22):
        response = client.get(path)
        assert response.status_code == 403
        assert "venció" in response.content.decode()
    assert client.get("/mi/").status_code == 403


def test_expired_link_is_refused(client, volunteer_without_user, settings, monkeypatch):
    link = magic_link_issue(volunteer=volunteer_without_user)
    later = timezone.now() + datetime.timedelta(seconds=settings.MAGIC_LINK_MAX_AGE + 60)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    assert client.get(_path(link)).status_code == 403


def test_a_coordinator_revokes_every_link_and_the_session_it_opened(
    client, geo, volunteer_without_user, north_coordinator
):
    # given: two links, one of them already opened in a browser
    first = magic_link_issue(volunteer=volunteer_without_user)
    second = magic_link_issue(volunteer=volunteer_without_user)
    assert client.get(_path(first)).status_code == 302
    assert client.get("/mi/").status_code == 200
    # when: the coordinator of the place revokes them from the console
    staff = Client()
    staff.force_login(north_coordinator)
    response = staff.post(f"/consola/fiscales/{volunteer_without_user.pk}/revocar-enlaces/")
    # then: neither link opens, and the open session is over
    assert response.status_code == 302
    assert ShortLink.objects.filter(volunteer=volunteer_without_user, revoked_at__isnull=True).count() == 0
    assert Client().get(_path(second)).status_code == 403
    assert client.get("/mi/").status_code in (302, 403)


def test_a_coordinator_outside_the_scope_cannot_revoke(geo, volunteer_without_user, south_coordinator):
    magic_link_issue(volunteer=volunteer_without_user)
    staff = Client()
    staff.force_login(south_coordinator)
    response = staff.post(f"/consola/fiscales/{volunteer_without_user.pk}/revocar-enlaces/")
    assert response.status_code == 404
    assert ShortLink.objects.filter(volunteer=volunteer_without_user, revoked_at__isnull=True).count() == 1


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
