"""Phones to E.164 for Argentina (backend.core.phones)."""

import pytest

from backend.core.phones import PhoneIssue, normalize_digits, normalize_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("011 15-4567-8901", "+5491145678901"),
        ("(0351) 15 412 3456", "+5493514123456"),
        ("+54 9 11 4567 8901", "+5491145678901"),
        (5491145678901, "+5491145678901"),
        (5491145678901.0, "+5491145678901"),
        ("5491145678901.0", "+5491145678901"),
        ("cel: 0351-15-412-3456", "+5493514123456"),
        ("Celular: +54 9 351 412-3456", "+5493514123456"),
        ("0054 9 11 4567 8901", "+5491145678901"),
    ],
)
def test_mobile_formats_are_stored_in_e164_without_warning(raw, expected):
    # when
    result = normalize_phone(raw)

    # then
    assert result.e164 == expected
    assert result.warnings == ()
    assert result.error is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("11 4567-8901", "+5491145678901"), ("(0351) 412-3456", "+5493514123456"), ("+54 11 4567 8901", "+5491145678901")],
)
def test_a_number_valid_only_as_landline_is_stored_as_mobile_with_a_warning(raw, expected):
    result = normalize_phone(raw)

    assert result.e164 == expected
    assert result.warnings == (PhoneIssue.LANDLINE_AS_MOBILE,)


def test_no_area_code_is_rejected_without_default_and_completed_with_it():
    # given a mobile written without its area code
    raw = "15-412-3456"

    # when / then
    assert normalize_phone(raw).error == PhoneIssue.NO_AREA_CODE
    with_default = normalize_phone(raw, default_area_code="351")
    assert with_default.e164 == "+5493514123456"
    assert PhoneIssue.DEFAULT_AREA_CODE in with_default.warnings
    assert normalize_phone("15-4567-8901", default_area_code="11").e164 == "+5491145678901"


def test_a_default_area_code_that_does_not_fit_the_number_is_not_guessed():
    # 8 subscriber digits cannot follow the 3-digit area code 351: the number was not clearly meant
    result = normalize_phone("15-4567-8901", default_area_code="351")

    assert result.e164 is None
    assert result.error is not None


@pytest.mark.parametrize("raw", ["hola", "12", "+54 9 11 1", "0000000000", "11111", "+999 123"])
def test_garbage_is_rejected(raw):
    result = normalize_phone(raw)

    assert result.e164 is None
    assert result.error is not None


def test_empty_cell_is_no_phone_and_no_error():
    assert normalize_phone(None).e164 is None and normalize_phone(None).error is None
    assert normalize_phone("  ").error is None


def test_several_numbers_use_the_first_with_a_warning():
    result = normalize_phone("351 15 412 3456 / 351 15 555 4444")

    assert result.e164 == "+5493514123456"
    assert PhoneIssue.SEVERAL_NUMBERS in result.warnings


def test_the_check_is_cached_by_cleaned_digits():
    # given two spellings of one number
    normalize_digits.cache_clear()

    # when
    normalize_phone("0351 15 412-3456")
    normalize_phone("0351-15-4123456")

    # then one check served both
    info = normalize_digits.cache_info()
    assert (info.misses, info.hits) == (1, 1)


def test_fast_argentine_type_check_agrees_with_the_library():
    import random

    import phonenumbers

    from backend.core.phones import ar_number_type

    # given many national numbers: area codes of every length, with and without the mobile 9
    rng = random.Random(7)
    samples = set()
    for _ in range(4000):
        body = str(rng.randrange(10**9, 10**10))
        samples.update({body, "9" + body, body[:-1], "800" + body[3:], "60" + body[2:]})

    # when / then
    for national in samples:
        number = phonenumbers.PhoneNumber(country_code=54, national_number=int(national))
        assert ar_number_type(national) == phonenumbers.number_type(number), national


def test_the_shipped_area_codes_by_locality_are_the_phonenumbers_library_s():
    # given the table shipped in the code (so that no worker imports the library's 100 MB of world data)
    from backend.core.area_codes import AREA_CODES_BY_LOCALITY
    from backend.core.phones import area_code_for_locality, area_codes_from_library

    # when / then: the same as derived from the installed library (regenerate: python -m backend.core.phones)
    assert area_codes_from_library() == AREA_CODES_BY_LOCALITY
    assert area_code_for_locality("Río Cuarto") == "358"
    assert area_code_for_locality("CORDOBA") == "351"


def test_guessing_an_area_code_by_locality_does_not_load_the_world_s_geographic_data():
    import subprocess
    import sys

    # given a fresh interpreter, when a locality's area code is asked
    code = (
        "import sys; from backend.core.phones import area_code_for_locality; "
        "assert area_code_for_locality('Villa María') == '353'; "
        "print('phonenumbers.geodata' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    # then the library's geographic data was never imported
    assert result.stdout.strip() == "False"
