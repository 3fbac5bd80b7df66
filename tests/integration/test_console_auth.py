"""Signing in to the console: tokens and one-time links, the session cookie, CSRF, headers."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import Aws, token

# On loopback the session cookie is not marked Secure, so plain http carries it, as in `make dev`.
BASE = "http://127.0.0.1:8000"


@pytest.fixture
def browser(aws: Aws) -> Iterator[TestClient]:
    from tests.apps import api_app

    with TestClient(api_app(), base_url=BASE, raise_server_exceptions=False, follow_redirects=False) as c:
        yield c


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def _sign_in_with_token(browser: TestClient, bearer: str, next_path: str = "") -> None:
    page = browser.get("/console/login", params={"next": next_path} if next_path else None)
    answer = browser.post(
        "/console/login", data={"csrf": _csrf(page.text), "token": bearer, "next": next_path}
    )
    assert answer.status_code == 303, answer.text


def test_pages_need_a_session_and_come_back_after_sign_in(browser: TestClient) -> None:
    answer = browser.get("/console/ws-1/runs?status=failed")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=%2Fconsole%2Fws-1%2Fruns%3Fstatus%3Dfailed"

    login = browser.get(answer.headers["location"])
    answer = browser.post(
        "/console/login",
        data={
            "csrf": _csrf(login.text),
            "token": token("ws-1", "ws-2"),
            "next": "/console/ws-1/runs?status=failed",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/ws-1/runs?status=failed"
    cookie = answer.headers["set-cookie"]
    assert "proactive_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # loopback
    # The start page goes to the first workspace.
    assert browser.get("/console/").headers["location"] == "/console/ws-1/"
    assert browser.get("/").headers["location"] == "/console/"


def test_session_cookie_is_secure_off_loopback(aws: Aws) -> None:
    from tests.apps import api_app

    with TestClient(api_app(), base_url="https://console.example.com", follow_redirects=False) as c:
        page = c.get("/console/login")
        answer = c.post("/console/login", data={"csrf": _csrf(page.text), "token": token("ws-1")})
    assert answer.status_code == 303
    assert "Secure" in answer.headers["set-cookie"]


def test_a_bad_token_or_a_foreign_form_signs_nobody_in(browser: TestClient) -> None:
    page = browser.get("/console/login")
    answer = browser.post("/console/login", data={"csrf": _csrf(page.text), "token": "not-a-token"})
    assert answer.status_code == 401
    assert "invalid token" in answer.text
    assert "proactive_session" not in answer.headers.get("set-cookie", "")

    # A form another site made (no CSRF token of this browser's sign-in page) is refused.
    browser.cookies.clear()
    answer = browser.post("/console/login", data={"csrf": "forged", "token": token("ws-1")})
    assert answer.status_code == 403
    assert "proactive_session" not in answer.headers.get("set-cookie", "")


def test_a_one_time_link_signs_in_once(browser: TestClient) -> None:
    link = browser.post("/api/workspace/login-links", headers={"Authorization": f"Bearer {token('ws-1')}"})
    assert link.status_code == 201
    url = link.json()["url"]
    assert url.startswith(f"{BASE}/console/login?code=")
    page = browser.get(url.removeprefix(BASE))
    assert "Continue" in page.text
    code = url.partition("code=")[2]
    answer = browser.post("/console/login", data={"csrf": _csrf(page.text), "code": code})
    assert answer.status_code == 303
    assert browser.get("/console/").headers["location"] == "/console/ws-1/"

    again = TestClient(browser.app, base_url=BASE, follow_redirects=False)
    page = again.get(url.removeprefix(BASE))
    answer = again.post("/console/login", data={"csrf": _csrf(page.text), "code": code})
    assert answer.status_code == 401
    assert "already used or has expired" in answer.text


def test_another_workspace_answers_404(browser: TestClient) -> None:
    _sign_in_with_token(browser, token("ws-1"))
    answer = browser.get("/console/ws-2/")
    assert answer.status_code == 404
    assert "not found" in answer.text
    assert answer.headers["content-type"].startswith("text/html")


def test_every_page_has_strict_security_headers(browser: TestClient) -> None:
    for answer in (browser.get("/console/login"), browser.get("/console/ws-9/")):
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self';" in policy
        assert "unsafe-inline" not in policy
        assert "unsafe-eval" not in policy
        assert "frame-ancestors 'none'" in policy
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["cache-control"] == "no-store"
        # No inline script, style or handler: the policy would block it.
        assert "<script>" not in answer.text
        assert " style=" not in answer.text
        assert " onclick=" not in answer.text


def test_sign_out_needs_the_page_token_and_ends_the_session(browser: TestClient) -> None:
    _sign_in_with_token(browser, token("ws-1"))
    assert browser.get("/console/").headers["location"] == "/console/ws-1/"
    refused = browser.post("/console/logout", data={"csrf": "forged"})
    assert refused.status_code == 403
    assert browser.get("/console/").headers["location"] == "/console/ws-1/"

    page = browser.get("/console/ws-1/nothing-here")
    answer = browser.post("/console/logout", data={"csrf": _csrf(page.text)})
    assert answer.status_code == 303
    assert browser.get("/console/").headers["location"] == "/console/login"


def test_static_files_are_versioned_cached_and_compressed(browser: TestClient) -> None:
    page = browser.get("/console/login")
    src = re.search(r'src="(/console/static/htmx\.min\.js\?v=[0-9a-f]+)"', page.text)
    assert src, page.text
    answer = browser.get(src.group(1), headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.headers["content-type"].startswith("text/javascript")
    assert "htmx" in answer.text
    # Only the console's own files: a path that climbs out of the folder is not served.
    for climbing in ("/console/static/..%2Fweb.py", "/console/static/%2E%2E"):
        answer = browser.get(climbing)
        assert answer.status_code != 200
        assert "from __future__" not in answer.text
    assert browser.get("/console/static/nothing.js").status_code == 404
