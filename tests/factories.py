"""factory_boy factories for the domain models."""

import datetime

import factory
from factory.django import DjangoModelFactory

from backend.accounts.models import CoordinatorScope, Role, User
from backend.elections.models import Area, Election, PollingPlace, Table
from backend.volunteers.models import Volunteer


class ElectionFactory(DjangoModelFactory):
    class Meta:
        model = Election
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"eleccion-{n}")
    name = factory.Sequence(lambda n: f"Elección {n}")
    date = datetime.date(2027, 10, 24)


class AreaFactory(DjangoModelFactory):
    class Meta:
        model = Area

    election = factory.SubFactory(ElectionFactory)
    parent = None
    kind = "distrito"
    code = factory.Sequence(lambda n: f"area-{n}")
    name = factory.Sequence(lambda n: f"Área {n}")


class PollingPlaceFactory(DjangoModelFactory):
    class Meta:
        model = PollingPlace
        skip_postgeneration_save = True

    area = factory.SubFactory(AreaFactory)
    election = factory.SelfAttribute("area.election")
    code = factory.Sequence(lambda n: f"EST-{n}")
    name = factory.Sequence(lambda n: f"Escuela N° {n}")
    address = factory.Sequence(lambda n: f"Calle {n} 123")

    @factory.post_generation
    def thread(obj, create, extracted, **kwargs):
        # As every place-creating door does: the place comes with its thread.
        if create:
            from backend.threads.services import threads_create_for_places

            threads_create_for_places(election=obj.election)


class TableFactory(DjangoModelFactory):
    class Meta:
        model = Table

    place = factory.SubFactory(PollingPlaceFactory)
    election = factory.SelfAttribute("place.election")
    district = factory.LazyAttribute(
        lambda t: Area.objects.get(
            election=t.place.election, path=t.place.area.path[: t.place.area.path.index("/", 1) + 1]
        )
    )
    number = factory.Sequence(lambda n: n + 1)
    electors = 350


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.COORDINATOR
    password = factory.django.Password("clave-de-prueba-123")


class CoordinatorScopeFactory(DjangoModelFactory):
    class Meta:
        model = CoordinatorScope

    user = factory.SubFactory(UserFactory)
    area = factory.SubFactory(AreaFactory)


class VolunteerFactory(DjangoModelFactory):
    class Meta:
        model = Volunteer

    dni = factory.Sequence(lambda n: str(30_000_000 + n))
    first_name = factory.Faker("first_name", locale="es_AR")
    last_name = factory.Faker("last_name", locale="es_AR")
    phone = factory.Sequence(lambda n: f"+54911{40000000 + n:08d}")
