"""What a volunteer means by a text: "si voy", "dale!!", "no llego", "ya llegué", "dónde me toca"...

A pure function over the text (`reply_understand`), so the corpus in tests/sms/ can measure it.
The rules, in the order they are applied:

- A negation ("no", "nop", "imposible", "ni"...) anywhere rules out a yes: a "no" is never a "yes".
- Opt-out phrases ("baja", "no me escriban más") win over everything else.
- A hedge ("capaz", "creo que sí", "si puedo", "no sé si voy") or both a yes and a no make the
  reply UNCLEAR: the volunteer is asked "¿Confirmás que vas?" and nothing is posted or changed.
- Long texts (more than MAX_WORDS words once greetings, thanks and the table number are set
  aside) are conversation: they go to the thread, unless they are clearly asking where to go.
Typos of one letter in words of four letters or more are tolerated ("confirmo" / "confrimo"),
repeated letters are folded ("siiii", "daleee") and emoji that mean yes or no count as words.
"""

import re
from enum import StrEnum
from functools import lru_cache

from rapidfuzz.distance import OSA

from backend.core.text import fold


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


class Intent(StrEnum):
    INFO = "info"
    YES = "yes"
    NO = "no"
    CHECK_IN = "check_in"
    HELP = "help"
    STOP = "stop"
    START = "start"
    UNCLEAR = "unclear"  # could be a yes or a no: ask back
    EMPTY = "empty"  # no text at all (a photo alone, or nothing)
    TEXT = "text"  # conversation: goes to the thread


MAX_WORDS = 8

_EMOJI = {
    "👍": " si ",
    "👌": " si ",
    "✅": " si ",
    "✔": " si ",
    "💪": " si ",
    "👎": " no ",
    "❌": " no ",
    "🚫": " no ",
}
_EMOJI_RE = re.compile("|".join(map(re.escape, _EMOJI)))
_RUNS = re.compile(r"([a-z])\1+")
# "mesa 1234", "m 12", "n 12", "nro 5", a lone number: the table the volunteer appends.
_TABLE_REF = re.compile(r"\b(?:(?:mesa|mesas|m|n|nro|numero|num|#)\s*)?\d+\b")

# Words without meaning for the intent: greetings, thanks, fillers, articles.
FILLERS = _words(
    "hola holis buenas buenos buen dia dias tarde tardes noche noches gracias muchas mil saludos che "
    "bueno perdon disculpa disculpe disculpen senor senora sr sra el la los las lo un una de del al y a e "
    "en ahi te les le me mi tu su para por ese este esta eso domingo sabado fecha eleccion elecciones "
    "amigo amiga genio capo querido querida chicos chicas equipo abrazo besos beso jaja jajaja"
)
# Words that are yes on their own or in short phrases (compared with repeated letters folded).
YES_WORDS = _words(
    "si sip sep sis yes ok oki okey okay oka ok dale va voy vamos confirmo confirmado confirmada "
    "confirmar listo lista claro obvio obviamente seguro perfecto perfect genial joya buenisimo barbaro "
    "excelente afirmativo correcto acepto aceptado presente estare estaremos ire iremos asistire cuenten "
    "cuentes conmigo anotado anotada vale positivo supuesto"
)
NEGATIONS = _words("no nop nope nel nunca imposible ni tampoco negativo cancelo cancelar")
# Hedges: on their own in a short text, or with a yes or a no, they make it unclear.
HEDGES = _words(
    "capaz quizas quiza creo probablemente posiblemente depende intento intentare trato tratare ojala "
    "seguramente calculo supongo veo veremos aviso avisare"
)
# These only blur a yes or a no ("si, pero tarde").
WEAK_HEDGES = _words("pero igual despues luego principio")
HEDGE_PHRASES = (
    "no se",
    "no estoy seguro",
    "no estoy segura",
    "si puedo",
    "si llego",
    "a confirmar",
    "te confirmo",
    "tal vez",
    "puede ser",
)
# Words a yes may carry besides yes words ("confirmo mi asistencia", "claro que si").
YES_TAIL = _words("que asistencia escuela colegio mesa lugar alli alla aca todo bien")
STOP_PHRASES = (
    "baja",
    "stop",
    "stopall",
    "unsubscribe",
    "cancel",
    "end",
    "quit",
    "no me escriban",
    "no me manden",
    "no me envien",
    "no quiero recibir",
    "no quiero mas mensajes",
    "dejen de escribir",
    "dejen de mandar",
    "dejen de enviar",
    "dar de baja",
    "darme de baja",
    "den de baja",
    "borrame",
    "borrenme",
    "sacame de la lista",
)
START_WORDS = frozenset({"alta", "start", "unstop", "volver", "darme de alta", "dar de alta"})
CHECK_IN_PHRASES = (
    "llegue",
    "llege",
    "yegue",
    "ya llegue",
    "ya estoy",
    "estoy en la escuela",
    "estoy en el colegio",
    "estoy en el lugar",
    "ya estoy en la escuela",
    "ya estoy aca",
    "estoy aca",
    "aca estoy",
    "aqui estoy",
    "estoy aqui",
    "presente",
    "en la escuela",
    "en el colegio",
    "ya en la escuela",
    "llegue a la escuela",
    "llegue al colegio",
    "arribe",
    "ya arribe",
    "estoy en puerta",
    "estoy en la puerta",
)
INFO_WORDS = _words("mesa info informacion donde adonde direccion ubicacion lugar escuela colegio cual")
# Questions about the assignment, whatever else the text says.
INFO_QUESTIONS = (
    "donde",
    "adonde",
    "que mesa",
    "cual mesa",
    "cual es mi",
    "que escuela",
    "cual escuela",
    "me toca",
    "direccion",
    "ubicacion",
)
# The same only in a short text or with a question mark ("mi mesa?", not "ya votaron 150 en mi mesa").
INFO_SHORT = ("mi mesa", "mi escuela", "mi lugar", "informacion", "info", "mesa")
HELP_WORDS = _words("ayuda help ayudame socorro opciones menu comandos instrucciones")
HELP_PHRASES = ("que hago", "no entiendo", "como funciona", "que tengo que hacer", "que respondo", "como sigo")
# A negation followed by one of these (within a few words) is a decline.
DECLINE_VERBS = _words(
    "voy puedo podre podria llego llegare ire estare asistire asisto vamos pudo doy da confirmo puedes "
    "disponible vas acepto estoy"
)
DECLINE_WORDS = frozenset({"imposible", "cancelo", "negativo", "nop", "nope", "nel"})
# What may follow "no puedo" in a decline ("no puedo ir el domingo"); anything else ("no puedo
# entrar a la escuela") is conversation.
DECLINE_TAIL = _words(
    "ir asistir estar poder llegar fiscalizar participar ser fiscal hacerlo hacer final finalmente al "
    "lamentablemente mas esta vez dia ese nada siento lo ya ire vamos voy como quedamos asi disponible"
)
YES_PHRASES = ("ahi estoy", "ahi voy", "de una", "por supuesto", "cuenten conmigo", "cuenta conmigo", "ahi estaremos")

_VOCABULARY = sorted(
    YES_WORDS | NEGATIONS | HEDGES | INFO_WORDS | HELP_WORDS | DECLINE_VERBS | {"llegue", "baja", "presente", "arribe"}
)


def _squeeze(word: str) -> str:
    return _RUNS.sub(r"\1", word)


_SQUEEZED: dict[str, str] = {}
for _word in _VOCABULARY:
    _SQUEEZED.setdefault(_squeeze(_word), _word)


def _canonical(word: str) -> str:
    """The vocabulary word `word` stands for: repeated letters folded, one typo forgiven.

    A typo is never read as a yes in words under six letters ("vemos" is not "vamos")."""
    if word in _VOCABULARY_SET:
        return word
    squeezed = _squeeze(word)
    if squeezed in _SQUEEZED:
        return _SQUEEZED[squeezed]
    if len(squeezed) >= 4:
        close = set()
        for candidate in _VOCABULARY:
            short = _squeeze(candidate)
            if len(short) < 4 or abs(len(short) - len(squeezed)) > 1:
                continue
            if candidate in YES_WORDS and len(squeezed) < 6:
                continue
            if OSA.distance(squeezed, short) <= 1:
                close.add(candidate)
        if len(close) == 1:
            return close.pop()
    return word


_VOCABULARY_SET = frozenset(_VOCABULARY)


def reply_words(body: str) -> list[str]:
    """The words that carry intent: folded, typos fixed, greetings and the table number removed."""
    text = _EMOJI_RE.sub(lambda m: _EMOJI[m.group(0)], body or "")
    text = fold(text.replace("?", " ? "))
    text = _TABLE_REF.sub(" ", text)
    return [_canonical(w) for w in text.split()]


def _has(words: list[str], phrase: str) -> bool:
    parts = phrase.split()
    n = len(parts)
    return any(words[i : i + n] == parts for i in range(len(words) - n + 1))


def _any_phrase(words: list[str], phrases) -> bool:
    return any(_has(words, p) for p in phrases)


# Short texts repeat all day ("si", "ok", "ayuda", "ya llegué"); the reading is pure, so each is read
# once per process (its fuzzy word matching was ~5% of a no-op SMS's view). Bounded: a few hundred KB.
_CACHED_LENGTH = 48


def reply_understand(body: str) -> Intent:
    """The intent of one text from a volunteer's phone."""
    if body and len(body) <= _CACHED_LENGTH:
        return _understand_cached(body)
    return _understand(body)


def _understand(body: str) -> Intent:
    if not (body or "").strip():
        return Intent.EMPTY
    if body.strip(" ¿?") == "":
        return Intent.INFO
    question = "?" in body
    words = reply_words(body)
    if not words:
        # Only a number or a table ("1234", "mesa 12"): they ask about their table.
        return Intent.INFO if re.search(r"\d", body) else Intent.TEXT
    meaningful = [w for w in words if w not in FILLERS]
    yes_phrase = _any_phrase(words, YES_PHRASES)
    if not meaningful and not yes_phrase:
        return Intent.TEXT  # "hola", "gracias": conversation
    if _any_phrase(words, STOP_PHRASES):
        return Intent.STOP
    if meaningful and meaningful[0] in START_WORDS and len(meaningful) <= 3:
        return Intent.START
    if len(meaningful) > MAX_WORDS:
        return Intent.TEXT
    negated = any(w in NEGATIONS for w in words)
    strong_hedge = any(w in HEDGES for w in words) or _any_phrase(words, HEDGE_PHRASES)
    hedged = strong_hedge or any(w in WEAK_HEDGES for w in words)
    others = [w for w in meaningful if not (w in YES_WORDS or w in YES_TAIL or w in WEAK_HEDGES or w in NEGATIONS)]
    yes = (any(w in YES_WORDS for w in meaningful) or yes_phrase) and len(others) <= 1
    only_no = (
        all(w in NEGATIONS or w in DECLINE_TAIL for w in meaningful) and bool(meaningful) and meaningful[0] in NEGATIONS
    )
    declined = any(w in DECLINE_WORDS for w in words) or _negated_verb(words) or only_no
    checked_in = _any_phrase(words, CHECK_IN_PHRASES) and not negated
    asks_where = _any_phrase(words, INFO_QUESTIONS) or (
        _any_phrase(words, INFO_SHORT) and (question or len(meaningful) <= 2)
    )
    asks_help = any(w in HELP_WORDS for w in meaningful) or _any_phrase(words, HELP_PHRASES)

    if asks_help and not (yes or declined):
        return Intent.HELP
    if checked_in and not hedged:
        return Intent.CHECK_IN
    if asks_where and not declined:
        return Intent.INFO
    if hedged and (yes or declined or negated):
        return Intent.UNCLEAR
    if strong_hedge and len(meaningful) <= 4:
        return Intent.UNCLEAR
    if declined:
        return Intent.UNCLEAR if yes and not _negated_verb(words) else Intent.NO
    if yes:
        # A negation anywhere keeps it from being a yes ("si no llueve voy" is not clear).
        return Intent.UNCLEAR if negated else Intent.YES
    return Intent.TEXT


def _negated_verb(words: list[str]) -> bool:
    """ "no voy", "no puedo ir", "no voy a poder": a negation, then a verb of going (anything else
    in between, as the "si" of "no, si voy", breaks it), then only words a decline carries."""
    for i, word in enumerate(words):
        if word not in NEGATIONS:
            continue
        for j in range(i + 1, len(words)):
            if words[j] in FILLERS:
                continue  # "no lo puedo", "no me da"
            if words[j] not in DECLINE_VERBS:
                break
            tail = words[j + 1 :]
            if all(w in DECLINE_TAIL or w in FILLERS or w in DECLINE_VERBS or w in NEGATIONS for w in tail):
                return True
            break
    return False


_understand_cached = lru_cache(maxsize=4096)(_understand)
