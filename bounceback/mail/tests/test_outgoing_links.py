"""Customer emails' HTML part: web addresses in the text are real links."""

from __future__ import annotations

from bounceback.mail.outgoing import _html


def test_addresses_in_a_message_become_links_and_the_rest_stays_escaped() -> None:
    html = _html(
        "Tell us how we did: https://care.example.com/survey/abc123/.\n"
        "Your portal (https://care.example.com/portal/?t=a&b=c) has the rest. <b>Thanks</b>",
        "BB-00012",
    )

    assert (
        '<a href="https://care.example.com/survey/abc123/">'
        "https://care.example.com/survey/abc123/</a>." in html
    )
    assert (
        '<a href="https://care.example.com/portal/?t=a&amp;b=c">'
        "https://care.example.com/portal/?t=a&amp;b=c</a>)" in html
    )
    assert "&lt;b&gt;Thanks&lt;/b&gt;" in html
