"""Pure readers over rows: header detection, DNI, names, email, availability, role, place matching."""

import pytest

from backend.core.emails import email_clean
from backend.core.exceptions import ApplicationError
from backend.imports import readers


def test_header_is_found_below_title_and_blank_rows_with_spanish_variants():
    # given
    rows = iter(
        [
            ["Padrón de fiscales 2027"],
            [],
            [None, None],
            ["Apellido y Nombre", "D.N.I.", "Celular", "E-mail", "Escuela donde vota", "Disponibilidad", "Rol"],
            ["GARCÍA, María", "30.123.456", "351 15 412 3456"],
        ]
    )

    # when
    header = readers.find_header(rows, readers.ROSTER_HEADERS, readers.ROSTER_REQUIRED)

    # then
    assert header.index == 3
    assert header.columns == {
        "full_name": 0,
        "dni": 1,
        "phone": 2,
        "email": 3,
        "votes_at": 4,
        "availability": 5,
        "role": 6,
    }
    assert next(rows)[0] == "GARCÍA, María"


def test_english_headers_and_decorated_headers_match():
    columns = readers.match_headers(
        ["Last name", "First Name", "National ID", "Mobile", "EMAIL ADDRESS", "Teléfono celular (con característica)"],
        readers.ROSTER_HEADERS,
    )

    assert columns["last_name"] == 0 and columns["first_name"] == 1 and columns["dni"] == 2
    assert columns["phone"] == 3 and columns["email"] == 4


def test_missing_required_column_is_named():
    rows = iter([["Apellido y Nombre", "Celular", "Email"], ["x", "y", "z"]])

    with pytest.raises(ApplicationError) as error:
        readers.find_header(rows, readers.ROSTER_HEADERS, readers.ROSTER_REQUIRED)

    assert error.value.code == "missing_columns"
    assert error.value.extra["missing"] == ["DNI"]
    assert "DNI" in str(error.value.message)


@pytest.mark.parametrize(
    ("raw", "dni"),
    [
        ("30.123.456", "30123456"),
        ("30 123 456", "30123456"),
        ("DNI 30123456", "30123456"),
        ("D.N.I. 30.123.456", "30123456"),
        (30123456, "30123456"),
        (30123456.0, "30123456"),
        ("30123456.0", "30123456"),
        ("5.123.456", "5123456"),
    ],
)
def test_dni_is_cleaned(raw, dni):
    assert readers.clean_dni(raw) == dni


@pytest.mark.parametrize("raw", ["30.123", "123456789", "30123456.5", "abc", "", None, "30-123456-7 y 28"])
def test_dni_that_is_not_7_or_8_digits_is_refused(raw):
    assert readers.clean_dni(raw) is None


@pytest.mark.parametrize(
    ("raw", "first", "last"),
    [
        ("GARCÍA, María José", "María José", "García"),
        ("María José García", "María José", "García"),
        ("Carolina de la Fuente", "Carolina", "de la Fuente"),
        ("PEREZ LOPEZ, JUAN", "Juan", "Perez Lopez"),
    ],
)
def test_combined_name_is_split(raw, first, last):
    assert readers.split_full_name(raw) == (first, last)


def test_email_is_validated():
    assert email_clean(" Ana@Example.ORG ") == ("ana@example.org", True)
    assert email_clean("ana at example.org") == ("", False)
    assert email_clean("") == ("", True)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("Todo el día", "full_day"),
        ("solo a la mañana", "morning"),
        ("por la TARDE", "afternoon"),
        ("de 8 a 13", "morning"),
        ("de 14 a 18 hs", "afternoon"),
        ("mañana y tarde", "full_day"),
        ("no puedo", "unavailable"),
        ("???", None),
    ],
)
def test_availability_from_free_text(raw, value):
    assert readers.parse_availability(raw) == value


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("Fiscal de mesa", "table"),
        ("fiscal general", "place"),
        ("cualquiera", "any"),
        ("mesa o general", "any"),
        ("cocinero", None),
    ],
)
def test_role_from_free_text(raw, value):
    assert readers.parse_role(raw) == value


def test_totals_and_blank_rows_are_recognised():
    assert readers.is_totals_row(["TOTAL", 120, None])
    assert readers.is_totals_row(["", "Totales:", "1.234"])
    assert readers.is_blank([None, "  ", ""])
    assert not readers.is_blank([None, "x"])


def test_place_matcher_by_code_and_fuzzy_name_within_the_locality():
    # given two towns, each with an "Escuela Belgrano"
    places = [
        readers.PlaceCandidate(1, "CO.1.1", "ESCUELA MANUEL BELGRANO", "/cba/capital/cordoba/"),
        readers.PlaceCandidate(2, "CO.2.1", "ESCUELA MANUEL BELGRANO", "/cba/colon/jesus-maria/"),
        readers.PlaceCandidate(3, "CO.2.2", "COLEGIO NACIONAL", "/cba/colon/jesus-maria/"),
    ]
    areas = [(10, "Córdoba", "/cba/capital/cordoba/"), (20, "Jesús María", "/cba/colon/jesus-maria/")]
    matcher = readers.PlaceMatcher(places, areas)
    jesus_maria = matcher.locality("JESUS MARIA")[1]

    # when / then
    assert matcher.match("co.2.2", None) == (3, 100.0)
    place, score = matcher.match("esc. manuel belgrno", jesus_maria)
    assert place == 2 and 80 <= score < 100
    # the same name without a locality is ambiguous: no guess
    assert matcher.match("Escuela Manuel Belgrano", None) == (None, None)
    # a unique exact name needs no locality
    assert matcher.match("Colegio Nacional", None) == (3, 100.0)
    assert matcher.match("Instituto Inexistente Sarasa", jesus_maria)[0] is None


@pytest.mark.parametrize(
    "email",
    ["a@b.co", "ana.maria+x@mail.example.com.ar", "a..b@example.org", ".a@example.org", "a@-x.org", "a@x", "a b@x.org"],
)
def test_fast_email_path_agrees_with_django(email):
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    try:
        validate_email(email)
        django_says = True
    except ValidationError:
        django_says = False

    assert email_clean(email)[1] == django_says


@pytest.mark.parametrize("header", ["Nº Documento", "N° DNI", "Nro. Doc.", "Nro de DNI", "DNI (sin puntos)"])
def test_argentine_spellings_of_the_document_number_are_the_dni(header):
    columns = readers.match_headers(["Apellido y Nombre", header, "Celular"], readers.ROSTER_HEADERS)

    assert columns == {"full_name": 0, "dni": 1, "phone": 2}


def test_a_header_that_only_starts_like_a_known_one_is_not_taken_for_it():
    # "Movilidad" (has a car) starts with "movil" (a phone) and "Mesa desde" with "mesa": never by prefix.
    columns = readers.match_headers(["DNI", "Movilidad", "Nombre", "Apellido"], readers.ROSTER_HEADERS)

    assert "phone" not in columns
    assert columns == {"dni": 0, "first_name": 2, "last_name": 3}
