"""Spanish apologies are scored with Spanish rules; other languages are marked
not scored and never held back by the coach."""

from __future__ import annotations

import pytest

from bounceback.coach.language import detect
from bounceback.coach.scoring import coach_score


def test_given_a_sincere_spanish_apology_then_it_passes() -> None:
    result = coach_score(
        text="Hola Marta, lo siento mucho: reservamos su mesa dos veces y se la dimos a otra "
        "persona. Fue culpa nuestra. Le hemos guardado una mesa para el sábado a las 21:00 y la "
        "cena corre de nuestra cuenta. Desde hoy confirmamos cada reserva por teléfono."
    )

    assert (result.language, result.scored) == ("es", True)
    assert result.passed, (result.score, result.findings)


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("conditional", "Si le hemos causado alguna molestia, le pedimos disculpas."),
        ("blames_feelings", "Lamentamos que no esté satisfecho con el servicio."),
        ("any_inconvenience", "Disculpe las molestias ocasionadas."),
        ("over_promise", "Lo sentimos. Le garantizamos que no volverá a pasar nunca."),
        ("minimising", "Perdone, solo fueron veinte minutos de espera."),
    ],
)
def test_given_a_deficient_spanish_apology_then_it_is_stopped_and_named(
    code: str, text: str
) -> None:
    result = coach_score(text=text)

    assert result.language == "es"
    assert not result.passed
    assert code in {f.code for f in result.findings}


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("fr", "Nous sommes désolés pour le retard de votre commande, nous vous remboursons."),
        ("de", "Es tut uns leid, dass Ihre Bestellung zu spät war. Wir erstatten den Betrag."),
    ],
)
def test_given_another_language_then_it_is_marked_not_scored_and_not_blocked(
    language: str, text: str
) -> None:
    result = coach_score(text=text, threshold=70)

    assert result.language == language
    assert result.scored is False
    assert result.score is None
    assert result.passed  # the coach cannot judge it, so it does not hold it back
    assert [f.code for f in result.findings] == ["not_scored"]


def test_given_a_language_hint_then_it_wins_over_detection() -> None:
    assert coach_score(text="Lo siento.", language="fr").scored is False
    assert coach_score(text="Sorry.", language="es-MX").language == "es"


def test_given_short_or_ambiguous_text_then_english_is_assumed() -> None:
    assert detect("") == "en"
    assert detect("OK 123") == "en"
    assert detect("Sorry, Ana!") == "en"
