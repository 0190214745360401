"""The permission matrix: role x object x action -> allowed, and `visible()` for every model."""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AnonymousUser

from backend.accounts.models import Role
from backend.assignments.models import Assignment, AssignmentEvent, AssignmentStatus
from backend.assignments.services import assignment_create, assignment_transition
from backend.core.exceptions import PermissionDenied
from backend.elections.models import Area, Election, PollingPlace, Table
from backend.notices.models import Notice
from backend.permissions import Action, can, require, visible
from backend.threads.models import Message, Thread
from backend.threads.services import message_post, thread_get_or_create
from backend.volunteers.models import Volunteer
from tests.factories import AreaFactory, CoordinatorScopeFactory, ElectionFactory, UserFactory, VolunteerFactory

V, C, R, P, M = Action.VIEW, Action.CHANGE, Action.RESPOND, Action.POST, Action.MODERATE
ALL = frozenset(Action)
NONE: frozenset = frozenset()


@dataclass
class World:
    users: dict
    objects: dict
    geo: object


@pytest.fixture
def world(geo, lead, north_coordinator, south_coordinator, north_volunteer, south_volunteer):
    own = assignment_create(
        volunteer=north_volunteer, place=geo.north_place, table=geo.north_tables[0], role="table", source="web"
    )
    assignment_create(
        volunteer=south_volunteer, place=geo.south_place, table=geo.south_tables[0], role="table", source="web"
    )
    north_thread = thread_get_or_create(place=geo.north_place)
    thread_get_or_create(place=geo.south_place)
    inactive = UserFactory(username="ex-responsable", role=Role.LEAD, is_active=False, is_superuser=True)
    users = {
        "lead": lead,
        "coordinator in scope": north_coordinator,
        "coordinator out of scope": south_coordinator,
        "volunteer owning": north_volunteer.user,
        "other volunteer": south_volunteer.user,
        "anonymous": AnonymousUser(),
        "inactive user": inactive,
    }
    objects = {
        "area": geo.north_town,
        "place": geo.north_place,
        "table": geo.north_tables[0],
        "volunteer": north_volunteer,
        "assignment": own,
        "thread": north_thread,
    }
    return World(users, objects, geo)


# What each role may do to the north objects (the owning volunteer's place, table, record, assignment, thread).
EXPECTED = {
    "lead": dict.fromkeys(["area", "place", "table", "volunteer", "assignment", "thread"], ALL),
    "coordinator in scope": {
        "area": {V, C},
        "place": {V, C},
        "table": {V, C},
        "volunteer": {V, C},
        "assignment": {V, C},
        "thread": {V, C, P, M},
    },
    "coordinator out of scope": dict.fromkeys(["area", "place", "table", "volunteer", "assignment", "thread"], NONE),
    "volunteer owning": {
        "area": NONE,
        "place": {V},
        "table": {V},
        "volunteer": {V},
        "assignment": {V, R},
        "thread": {V, P},
    },
    "other volunteer": dict.fromkeys(["area", "place", "table", "volunteer", "assignment", "thread"], NONE),
    "anonymous": dict.fromkeys(["area", "place", "table", "volunteer", "assignment", "thread"], NONE),
    "inactive user": dict.fromkeys(["area", "place", "table", "volunteer", "assignment", "thread"], NONE),
}
CASES = [(role, obj) for role, row in EXPECTED.items() for obj in row]


@pytest.mark.parametrize(("role", "obj"), CASES, ids=[f"{r}-{o}" for r, o in CASES])
def test_permission_matrix(world, role, obj):
    # given: one (role, object) cell of the table; every action of it is checked
    user, target = world.users[role], world.objects[obj]
    # when
    allowed = {action for action in Action if can(user, action, target)}
    # then
    assert allowed == set(EXPECTED[role][obj])


def test_require_raises_a_permission_denied_application_error(world):
    with pytest.raises(PermissionDenied) as err:
        require(world.users["other volunteer"], Action.VIEW, world.objects["assignment"])
    assert err.value.code == "permission_denied"
    require(world.users["volunteer owning"], Action.RESPOND, world.objects["assignment"])  # no exception


def _visible_pks(user, model) -> set:
    return set(visible(user, model.objects.all()).values_list("pk", flat=True))


def test_visible_for_a_lead_is_everything(world):
    for model in (Election, Area, PollingPlace, Table, Volunteer, Assignment, AssignmentEvent, Notice, Thread, Message):
        assert _visible_pks(world.users["lead"], model) == set(model.objects.values_list("pk", flat=True))


def test_visible_for_a_coordinator_is_their_subtree(world):
    # given
    geo = world.geo
    user = world.users["coordinator in scope"]
    message = message_post(thread=world.objects["thread"], body="hola", source="web", author_user=user)
    message_post(thread=geo.south_place.thread, body="chau", source="web", author_user=world.users["lead"])
    own = world.objects["assignment"]
    # then: the north subtree and nothing above or beside it
    assert _visible_pks(user, Election) == {geo.election.pk}
    assert _visible_pks(user, Area) == {geo.north.pk, geo.north_town.pk}
    assert _visible_pks(user, PollingPlace) == {geo.north_place.pk}
    assert _visible_pks(user, Table) == {t.pk for t in geo.north_tables}
    assert _visible_pks(user, Volunteer) == {world.objects["volunteer"].pk}
    assert _visible_pks(user, Assignment) == {own.pk}
    assert _visible_pks(user, AssignmentEvent) == set(own.events.values_list("pk", flat=True))
    assert _visible_pks(user, Notice) == set(
        Notice.objects.filter(volunteer=own.volunteer).values_list("pk", flat=True)
    )
    assert _visible_pks(user, Thread) == {world.objects["thread"].pk}
    assert _visible_pks(user, Message) == {message.pk}


def test_a_coordinator_sees_volunteers_by_area_by_where_they_vote_and_by_assignment(world):
    # given: three people outside the north area, each tied to the north another way
    geo = world.geo
    user = world.users["coordinator in scope"]
    lives_north = VolunteerFactory(area=geo.north_town)
    votes_north = VolunteerFactory(area=None, votes_at=geo.north_place)
    assigned_north = VolunteerFactory(area=geo.south_town)
    assignment_create(
        volunteer=assigned_north, place=geo.north_place, table=geo.north_tables[1], role="table", source="web"
    )
    stranger = VolunteerFactory(area=geo.south_town)
    # then
    seen = _visible_pks(user, Volunteer)
    assert {lives_north.pk, votes_north.pk, assigned_north.pk} <= seen
    assert stranger.pk not in seen
    for person in (lives_north, votes_north, assigned_north):
        assert can(user, Action.CHANGE, person)
    assert not can(user, Action.VIEW, stranger)


def test_visible_for_a_volunteer_is_their_own_place_and_thread(world):
    geo = world.geo
    user = world.users["volunteer owning"]
    visible_message = message_post(thread=world.objects["thread"], body="hola", source="web", author_user=user)
    hidden = message_post(thread=world.objects["thread"], body="oculto", source="web", author_user=user)
    Message.objects.filter(pk=hidden.pk).update(hidden=True)
    assert _visible_pks(user, Election) == {geo.election.pk}
    assert _visible_pks(user, Area) == set()
    assert _visible_pks(user, PollingPlace) == {geo.north_place.pk}
    assert _visible_pks(user, Table) == {t.pk for t in geo.north_tables}
    assert _visible_pks(user, Volunteer) == {world.objects["volunteer"].pk}
    assert _visible_pks(user, Assignment) == {world.objects["assignment"].pk}
    assert _visible_pks(user, AssignmentEvent) == set()
    assert _visible_pks(user, Notice) == set(
        Notice.objects.filter(volunteer=world.objects["volunteer"]).values_list("pk", flat=True)
    )
    assert _visible_pks(user, Thread) == {world.objects["thread"].pk}
    assert _visible_pks(user, Message) == {visible_message.pk}


@pytest.mark.parametrize("role", ["anonymous", "inactive user"])
def test_visible_for_nobody_is_empty(world, role):
    for model in (Election, Area, PollingPlace, Table, Volunteer, Assignment, Thread, Message):
        assert _visible_pks(world.users[role], model) == set()


def test_a_coordinator_without_scopes_sees_nothing(world):
    user = UserFactory(username="sin-alcance", role=Role.COORDINATOR)
    for model in (Election, Area, PollingPlace, Volunteer, Assignment):
        assert _visible_pks(user, model) == set()
    assert not can(user, Action.VIEW, world.objects["place"])


def test_a_cancelled_assignment_no_longer_opens_the_place(world):
    # given
    user = world.users["volunteer owning"]
    assignment_transition(assignment=world.objects["assignment"], to_status=AssignmentStatus.CANCELLED, source="web")
    fresh = type(user).objects.get(pk=user.pk)  # the permission module caches per user object
    # then: their own assignment stays visible, the place and thread do not
    assert can(fresh, Action.VIEW, world.objects["assignment"])
    assert not can(fresh, Action.VIEW, world.objects["place"])
    assert not can(fresh, Action.POST, world.objects["thread"])
    assert _visible_pks(fresh, PollingPlace) == set()


def test_a_scope_covers_one_election_not_the_same_path_in_another(world):
    # given: next year's election reuses the same geography codes
    geo = world.geo
    other = ElectionFactory(slug="otra-2029")
    district = AreaFactory(election=other, code="cba", name="Córdoba")
    north_again = AreaFactory(election=other, parent=district, code="norte", name="Norte")
    user = world.users["coordinator in scope"]
    # then
    assert north_again.path == geo.north.path
    assert not can(user, Action.VIEW, north_again)
    assert north_again.pk not in _visible_pks(user, Area)
    CoordinatorScopeFactory(user=user, area=north_again)
    fresh = type(user).objects.get(pk=user.pk)
    assert can(fresh, Action.VIEW, north_again)


def test_a_superuser_with_any_role_is_a_lead(world):
    boss = UserFactory(username="root", role=Role.VOLUNTEER, is_superuser=True)
    assert all(can(boss, action, world.objects["assignment"]) for action in Action)
