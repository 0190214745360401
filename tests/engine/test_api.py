"""The assignments API: every manual path, coverage, candidates, auto-assign, and permission refusals."""

import pytest
from rest_framework.test import APIClient

from backend.assignments.models import Assignment
from backend.assignments.services import assignment_create

from ..factories import VolunteerFactory


@pytest.fixture
def eager_celery():
    """Run the auto-assign task in-process on both profiles (with REDIS_URL Celery is not eager)."""
    from backend.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _assign(volunteer, place, table=None, **kw):
    role = "table" if table else "place"
    return assignment_create(volunteer=volunteer, place=place, table=table, role=role, source="web", **kw)


def test_coordinator_assigns_in_their_subtree_and_not_outside(geo, north_coordinator):
    api = client_for(north_coordinator)
    north, south = VolunteerFactory(area=geo.north_town), VolunteerFactory(area=geo.south_town)
    # when / then: inside the subtree
    ok = api.post(
        "/api/assignments/assign/",
        {"volunteer": north.pk, "place": geo.north_place.pk, "table": geo.north_tables[0].pk, "role": "table"},
        format="json",
    )
    assert ok.status_code == 201, ok.json()
    assert (ok.json()["volunteer_name"], ok.json()["reason"], ok.json()["table_number"]) == (
        north.full_name,
        "misma localidad",
        1,
    )
    # outside: a south place, or a south volunteer
    refused = api.post(
        "/api/assignments/assign/",
        {"volunteer": south.pk, "place": geo.south_place.pk, "table": geo.south_tables[0].pk, "role": "table"},
        format="json",
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    assert Assignment.objects.count() == 1


def test_bad_input_gets_a_clear_error_and_changes_nothing(geo, lead):
    api = client_for(lead)
    v = VolunteerFactory(area=geo.north_town, excluded=True)
    missing = api.post("/api/assignments/assign/", {"volunteer": v.pk}, format="json")
    assert (missing.status_code, missing.json()["code"]) == (400, "validation_error")
    ineligible = api.post(
        "/api/assignments/assign/",
        {"volunteer": v.pk, "place": geo.north_place.pk, "table": geo.north_tables[0].pk, "role": "table"},
        format="json",
    )
    assert (ineligible.status_code, ineligible.json()["code"]) == (400, "not_eligible")
    assert "excluido" in ineligible.json()["message"]
    mismatch = api.post(
        "/api/assignments/assign/",
        {"volunteer": VolunteerFactory(area=geo.north_town).pk, "place": geo.north_place.pk, "role": "table"},
        format="json",
    )
    assert (mismatch.status_code, mismatch.json()["code"]) == (400, "role_mismatch")
    assert not Assignment.objects.exists()


def test_unassign_lock_unlock_and_refusals(geo, north_coordinator, south_coordinator):
    a = _assign(VolunteerFactory(area=geo.north_town), geo.north_place, geo.north_tables[0])
    south = client_for(south_coordinator)
    assert south.post(f"/api/assignments/{a.pk}/unassign/", {}, format="json").status_code == 403
    assert south.get(f"/api/assignments/{a.pk}/").status_code == 403
    north = client_for(north_coordinator)
    assert north.post(f"/api/assignments/{a.pk}/lock/", {"reason": "pedido"}, format="json").json()["locked"] is True
    locked = north.post(f"/api/assignments/{a.pk}/unassign/", {}, format="json")
    assert (locked.status_code, locked.json()["code"]) == (400, "locked")
    assert north.post(f"/api/assignments/{a.pk}/unlock/", {}, format="json").json()["locked"] is False
    done = north.post(f"/api/assignments/{a.pk}/unassign/", {"reason": "no contesta"}, format="json")
    assert done.json()["status"] == "cancelled"
    detail = north.get(f"/api/assignments/{a.pk}/").json()
    assert [e["kind"] for e in detail["events"]] == ["created", "locked", "unlocked", "status"]
    assert detail["events"][-1]["actor"] == north_coordinator.username


def test_swap_through_the_api(geo, lead, north_coordinator):
    a = _assign(VolunteerFactory(area=geo.north_town), geo.north_place, geo.north_tables[0])
    b = _assign(VolunteerFactory(area=geo.south_town), geo.south_place, geo.south_tables[0])
    refused = client_for(north_coordinator).post(
        "/api/assignments/swap/", {"first": a.pk, "second": b.pk}, format="json"
    )
    assert refused.status_code == 403
    ok = client_for(lead).post("/api/assignments/swap/", {"first": a.pk, "second": b.pk}, format="json")
    assert ok.status_code == 200
    assert (ok.json()["first"]["place"], ok.json()["second"]["place"]) == (geo.south_place.pk, geo.north_place.pk)


def test_volunteer_declines_their_own_and_a_replacement_is_proposed(geo, north_volunteer):
    mine = _assign(north_volunteer, geo.north_place, geo.north_tables[0])
    other = _assign(VolunteerFactory(area=geo.north_town), geo.north_place, geo.north_tables[1])
    substitute = VolunteerFactory(area=geo.north_town, votes_at=geo.north_place)
    api = client_for(north_volunteer.user)
    # a volunteer may not decline, unassign or see someone else's
    assert api.post(f"/api/assignments/{other.pk}/decline/", {}, format="json").status_code == 403
    assert api.post(f"/api/assignments/{mine.pk}/unassign/", {}, format="json").status_code == 403
    # when
    response = api.post(f"/api/assignments/{mine.pk}/decline/", {"reason": "viajo"}, format="json")
    # then: declined; the replacement exists but is not shown to the volunteer
    assert response.status_code == 200
    assert (response.json()["declined"]["status"], response.json()["replacement"]) == ("declined", None)
    assert Assignment.objects.get(replaces=mine).volunteer == substitute


def test_coordinator_marks_declined_and_sees_the_replacement(geo, north_coordinator):
    a = _assign(VolunteerFactory(area=geo.north_town), geo.north_place, geo.north_tables[0])
    sub = VolunteerFactory(area=geo.north_town, votes_at=geo.north_place)
    body = client_for(north_coordinator).post(f"/api/assignments/{a.pk}/decline/", {}, format="json").json()
    assert body["replacement"]["volunteer"] == sub.pk
    assert body["replacement"]["reason"].endswith("vota en este establecimiento")


def test_list_is_scoped(geo, north_coordinator, north_volunteer):
    mine = _assign(north_volunteer, geo.north_place, geo.north_tables[0])
    _assign(VolunteerFactory(area=geo.south_town), geo.south_place, geo.south_tables[0])
    url = f"/api/assignments/?election={geo.election.slug}"
    assert [r["id"] for r in client_for(north_coordinator).get(url).json()["results"]] == [mine.pk]
    assert [r["id"] for r in client_for(north_volunteer.user).get(url).json()["results"]] == [mine.pk]
    bad = client_for(north_coordinator).get(url + "&status=nope")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_status")


def test_coverage_endpoints(geo, lead, north_coordinator, north_volunteer):
    _assign(VolunteerFactory(area=geo.north_town), geo.north_place, geo.north_tables[0])
    tree = client_for(lead).get(f"/api/assignments/coverage/?election={geo.election.slug}").json()["areas"]
    assert (tree[0]["code"], tree[0]["slots"], tree[0]["assigned"]) == ("cba", 8, 1)
    scoped = client_for(north_coordinator).get(f"/api/assignments/coverage/?election={geo.election.slug}").json()
    assert [n["code"] for n in scoped["areas"]] == ["norte", "jesus-maria"]
    places = client_for(north_coordinator).get(f"/api/assignments/coverage/places/?election={geo.election.slug}")
    assert [p["code"] for p in places.json()["places"]] == ["N-1"]
    tables = client_for(north_coordinator).get(f"/api/assignments/coverage/places/{geo.north_place.pk}/").json()
    assert tables["tables"][0]["state"] == "complete"
    assert (
        client_for(north_coordinator).get(f"/api/assignments/coverage/places/{geo.south_place.pk}/").status_code == 403
    )
    assert (
        client_for(north_volunteer.user).get(f"/api/assignments/coverage/?election={geo.election.slug}").status_code
        == 403
    )
    south_area = client_for(north_coordinator).get(
        f"/api/assignments/coverage/?election={geo.election.slug}&area={geo.south.pk}"
    )
    assert south_area.status_code == 403


def test_candidates_endpoint(geo, north_coordinator):
    voter = VolunteerFactory(area=geo.north_town, votes_at=geo.north_place)
    url = f"/api/assignments/candidates/?place={geo.north_place.pk}&role=table&table={geo.north_tables[0].pk}"
    body = client_for(north_coordinator).get(url).json()
    assert body["candidates"][0] == {
        "volunteer_id": voter.pk,
        "name": voter.full_name,
        "cost_m": 0.0,
        "reason": "vota en este establecimiento",
        "votes_here": True,
        "trained": False,
        "availability": "full_day",
        "roles_accepted": "any",
    }
    refused = client_for(north_coordinator).get(f"/api/assignments/candidates/?place={geo.south_place.pk}&role=place")
    assert refused.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_auto_assign_dry_run_and_apply_through_the_api(geo, lead, eager_celery):
    VolunteerFactory(area=geo.north_town, votes_at=geo.north_place)
    api = client_for(lead)
    dry = api.post("/api/assignments/auto/", {"election": geo.election.slug, "dry_run": True}, format="json")
    assert dry.status_code == 200, dry.json()
    run = dry.json()
    assert (run["state"], run["result"]["covered_after"], run["result"]["dry_run"]) == ("done", 1, True)
    assert run["result"]["changes"][0]["reason"] == "vota en este establecimiento"
    assert not Assignment.objects.exists()
    applied = api.post("/api/assignments/auto/", {"election": geo.election.slug, "dry_run": False}, format="json")
    assert applied.json()["result"]["created"] == 1
    assert Assignment.objects.get().created_by == lead
    status = api.get(f"/api/assignments/auto/{applied.json()['run_id']}/")
    assert status.json()["state"] == "done"


@pytest.mark.django_db(transaction=True)
def test_auto_assign_permissions(geo, north_coordinator, eager_celery):
    api = client_for(north_coordinator)
    whole = api.post("/api/assignments/auto/", {"election": geo.election.slug}, format="json")
    assert whole.status_code == 403
    other = api.post("/api/assignments/auto/", {"election": geo.election.slug, "area": geo.south.pk}, format="json")
    assert other.status_code == 403
    mine = api.post("/api/assignments/auto/", {"election": geo.election.slug, "area": geo.north.pk}, format="json")
    assert mine.status_code == 200
    assert mine.json()["result"]["slots"] == 4
    assert api.get("/api/assignments/auto/unknown/").status_code == 404


@pytest.mark.django_db
def test_auto_assign_status_of_a_malformed_run_id_is_not_found_without_touching_the_cache(lead, recwarn):
    api = client_for(lead)
    long_id = "x" * 300 + " with spaces"
    assert api.get(f"/api/assignments/auto/{long_id}/").status_code == 404
    assert not [w for w in recwarn if w.category.__name__ == "CacheKeyWarning"]
