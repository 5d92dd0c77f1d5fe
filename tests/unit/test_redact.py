"""The scrubber: every form a secret is echoed in is masked, and nothing else is touched."""

from __future__ import annotations

import base64

from pydantic import SecretStr

from pytest_promotion.core.redact import Redactor, mask_url, url_secrets, without_credentials


def test_secret_and_its_encoded_forms_are_masked() -> None:
    redactor = Redactor.of([SecretStr("a b/c+d"), None, ""])
    text = "raw=a b/c+d quoted=a%20b%2Fc%2Bd plus=a+b%2Fc%2Bd"
    assert redactor.scrub(text) == "raw=*** quoted=*** plus=***"
    assert redactor.holds_secret(text)
    assert not redactor.holds_secret("nothing here")


def test_a_longer_secret_containing_a_shorter_one_is_masked_whole() -> None:
    assert Redactor.of(["abc", "abcdef"]).scrub("x abcdef y abc") == "x *** y ***"


def test_an_empty_redactor_changes_nothing() -> None:
    redactor = Redactor.of([])
    assert not redactor
    assert redactor.scrub("token") == "token"


def test_url_passwords_and_their_basic_credential() -> None:
    url = "https://deploy:p%40ss@app.example.com/base"
    secrets = url_secrets(url)
    assert {"p@ss", "p%40ss"} <= set(secrets)
    assert base64.b64encode(b"deploy:p@ss").decode() in secrets
    assert mask_url(url) == "https://deploy:***@app.example.com/base"
    assert without_credentials(url) == ("https://app.example.com/base", ("deploy", "p@ss"))
    assert url_secrets("https://app.example.com") == []
    assert mask_url("https://app.example.com") == "https://app.example.com"


def test_an_unparseable_url_with_a_password_is_masked_too() -> None:
    """``urlsplit`` raises on ``[bad``: the URL came back whole, password and all, in the usage error."""
    assert mask_url("https://u:pw-SECRET-3@[bad") == "https://***@[bad"
    assert mask_url("https://[bad") == "https://[bad"
