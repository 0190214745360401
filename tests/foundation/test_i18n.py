"""Spanish (Argentina) by default, English on request; the English catalogue is complete and compiled."""

import gettext
import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

LOCALE = Path(__file__).resolve().parents[2] / "locale"


def _staff_client(user) -> Client:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_speaks_spanish_by_default(lead):
    page = _staff_client(lead).get(reverse("admin:index")).content.decode()
    assert "Fiscales" in page
    assert "Asignaciones" in page
    assert 'lang="es-ar"' in page


def test_the_admin_speaks_english_when_the_browser_asks(lead):
    page = _staff_client(lead).get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Poll watchers" in page
    assert "Assignments" in page
    assert "Fiscales" not in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("asked", "cookie", "answered"),
    [(None, None, "es-ar"), ("en-US,en;q=0.9", None, "en"), ("fr", None, "es-ar"), ("en", "es-ar", "es-ar")],
)
def test_every_answer_names_its_language_and_varies_by_the_browsers(settings, asked, cookie, answered):
    # given: a browser's Accept-Language and, maybe, the language switch's cookie
    client = Client()
    if cookie:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = cookie
    headers = {"HTTP_ACCEPT_LANGUAGE": asked} if asked else {}
    # when: any page without a language in its URL (the health check)
    response = client.get("/healthz", **headers)
    # then: the cookie wins, then the browser's language if offered, else Spanish; caches told so
    assert response["Content-Language"] == answered
    assert "Accept-Language" in response["Vary"]


def test_setlang_switches_the_language_for_the_following_pages(lead):
    # given
    client = _staff_client(lead)
    # when
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    # then
    assert response.status_code == 302
    page = client.get(reverse("admin:volunteers_volunteer_changelist")).content.decode()
    assert "Poll watchers" in page or "poll watcher" in page
    client.post("/i18n/setlang/", {"language": "es-ar", "next": "/admin/"})
    assert "Fiscales" in client.get(reverse("admin:index")).content.decode()


def _po_entries(path: Path) -> dict:
    """msgid -> msgstr (or the tuple of plural msgstrs) of a .po file."""
    entries = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            match = re.match(r"^(msgid|msgid_plural|msgstr(?:\[\d\])?) (\".*\")$", line)
            if match:
                key = match.group(1)
                fields[key] = ""
                line = match.group(2)
            if key:
                fields[key] += line.strip()[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        if fields.get("msgid"):
            entries[fields["msgid"]] = (
                (fields["msgstr[0]"], fields["msgstr[1]"]) if "msgid_plural" in fields else fields["msgstr"]
            )
    return entries


def test_every_string_has_a_real_english_translation():
    source = LOCALE / "en" / "LC_MESSAGES" / "django.po"
    # compilemessages skips fuzzy entries (guesses by makemessages): they would show in Spanish.
    assert "#, fuzzy" not in source.read_text(encoding="utf-8")
    entries = _po_entries(source)
    assert len(entries) > 100
    untranslated = [
        msgid for msgid, msgstr in entries.items() if not all(msgstr if isinstance(msgstr, tuple) else [msgstr])
    ]
    assert untranslated == []


def test_the_compiled_catalogue_matches_the_source():
    entries = _po_entries(LOCALE / "en" / "LC_MESSAGES" / "django.po")
    with open(LOCALE / "en" / "LC_MESSAGES" / "django.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for msgid, msgstr in entries.items():
        expected = msgstr[0] if isinstance(msgstr, tuple) else msgstr
        got = compiled.ngettext(msgid, msgid, 1) if isinstance(msgstr, tuple) else compiled.gettext(msgid)
        assert got == expected, msgid
