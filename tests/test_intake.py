import pytest

from shared.intake import MAX_BODY_BYTES, BodyTooLarge, InvalidJson, UnsupportedMediaType, read_json
from tests.helpers.app import mail_request


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/vnd.x+json"],
)
def test_json_media_types_are_read(content_type: str) -> None:
    assert read_json(mail_request({"a": 1}, content_type=content_type)) == {"a": 1}


@pytest.mark.parametrize("content_type", ["", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_other_media_types_get_415(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        read_json(mail_request({"a": 1}, content_type=content_type))
    assert caught.value.status == 415


@pytest.mark.parametrize(
    ("body", "detail"),
    [(b"{", "line 1"), (b"", "Expecting value"), (b'{"a": "\xff"}', "not UTF-8"), (b"[" * 100_000, "nested")],
)
def test_invalid_json_gets_400_with_the_position(body: bytes, detail: str) -> None:
    with pytest.raises(InvalidJson) as caught:
        read_json(mail_request(body))
    assert caught.value.status == 400
    assert detail in caught.value.detail


def test_declared_oversize_is_refused_before_the_body_is_read() -> None:
    request = mail_request(b"{}", headers={"Content-Length": str(MAX_BODY_BYTES + 1)})
    with pytest.raises(BodyTooLarge):
        read_json(request)


def test_actual_oversize_is_refused() -> None:
    with pytest.raises(BodyTooLarge) as caught:
        read_json(mail_request(b" " * (MAX_BODY_BYTES + 1), headers={"Content-Length": ""}))
    assert caught.value.status == 413
