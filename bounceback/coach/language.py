"""Which language a draft is written in, from its common words (nothing to download).

The coach scores English and Spanish. A draft in any other language is named
(so the page can say which) and left unscored rather than judged by English
rules it cannot meet.
"""

from __future__ import annotations

import re

SCORED = ("en", "es")


def _words(text: str) -> frozenset[str]:
    """A set of words written as one string, as they read."""
    return frozenset(text.split())


# Short, frequent words that are distinctive for each language; words shared
# across them ("a", "no", "de" in Spanish and Portuguese) are left out or kept
# where the others lack them.
_MARKERS: dict[str, frozenset[str]] = {
    "en": _words(
        "the and you your we our is are was were to of for it that this with have has be "
        "been will sorry apologise apologize please thank thanks i'm we're i've we've "
        "it's on at by from not what which would could should"
    ),
    "es": _words(
        "el la los las y que en un una por para con su sus lo le les nos es son del al "
        "muy pero hemos está están fue ha han como más sentimos siento lamentamos "
        "disculpas perdón gracias usted ya hoy mañana nuestro nuestra también porque "
        "cuando fueron solo sólo perdone perdona disculpe disculpa lamento mucho mucha "
        "esta este esto"
    ),
    "fr": _words(
        "le les des et est nous vous pour pas une votre notre avec sont été désolé "
        "désolés excuses merci très mais aussi sur dans ce cette qui"
    ),
    "de": _words(
        "der die das und ist nicht wir sie ein eine mit für ihr ihre uns sind war leid "
        "entschuldigung entschuldigen danke auch aber wird wurde haben"
    ),
    "pt": _words(
        "não você vocês nós uma os para com seu sua nosso nossa foi são está desculpe "
        "desculpa lamentamos obrigado obrigada muito também mas pelo pela"
    ),
    "it": _words(
        "il che di non per sono siamo una gli della del con scusa scusi ci dispiace "
        "grazie molto anche ma è nostro nostra vostro"
    ),
}
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def detect(text: str) -> str:
    """An ISO 639-1 code; English when the draft gives too little to tell."""
    tokens = [t.lower() for t in _TOKEN.findall(text.replace("\u2019", "'"))]
    if not tokens:
        return "en"
    counts = {lang: sum(t in markers for t in tokens) for lang, markers in _MARKERS.items()}
    # Spanish marks (ñ, ¿, ¡) and accents tip a close call between Romance languages.
    if re.search(r"[ñ¿¡]", text):
        counts["es"] += 2
    best = max(counts, key=lambda lang: counts[lang])
    # One stray foreign word in an English-looking draft is not enough.
    if counts[best] == 0 or (counts[best] < 2 and counts["en"] > 0):
        return "en"
    if counts["en"] >= counts[best]:
        return "en"
    return best


def is_scored(language: str) -> bool:
    return language in SCORED


NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "pt": "Portuguese",
    "it": "Italian",
}
