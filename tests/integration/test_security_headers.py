"""Security headers on the API's HTML answers: the approval links' pages and the docs page."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.testclient import TestClient

from proactive.api import create_lazy_app

STRICT = {
    "default-src 'none'",
    "style-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
}


def directives(policy: str) -> set[str]:
    return {d.strip() for d in policy.split(";")}


def test_an_approval_links_pages_are_sent_with_strict_security_headers(client: TestClient) -> None:
    # Whatever the page says (here: a link this platform did not issue), GET and POST alike.
    client.headers.pop("Authorization")
    link = "/approvals/not-a-link-we-issued"
    for page in (client.get(link), client.post(link)):
        assert page.headers["content-type"].startswith("text/html")
        assert directives(page.headers["content-security-policy"]) >= STRICT
        assert "script-src" not in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        # The link's path is a credential: never sent on as a referrer, never cached.
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["x-content-type-options"] == "nosniff"


def test_the_api_function_sends_them_too_and_json_answers_say_nosniff(aws: object) -> None:
    with TestClient(create_lazy_app(), raise_server_exceptions=False) as lazy:
        page = lazy.get("/approvals/not-a-link-we-issued")
        assert directives(page.headers["content-security-policy"]) >= STRICT
        assert page.headers["referrer-policy"] == "no-referrer"
        health = lazy.get("/health")
        assert health.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in health.headers


def test_the_docs_page_allows_its_own_files_and_its_one_script_only_and_loads(client: TestClient) -> None:
    client.headers.pop("Authorization")
    page = client.get("/docs")
    assert page.status_code == 200
    policy = directives(page.headers["content-security-policy"])
    assert {"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "connect-src 'self'"} <= policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    # Its inline start-up script is allowed by its hash, and nothing else inline runs.
    [script_src] = [d for d in policy if d.startswith("script-src ")]
    scripts = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    assert scripts
    hashes = {f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts}
    assert set(script_src.split()[1:]) == {"'self'", *hashes}
    # Every file it loads is served by the app, of the type the browser expects, with nosniff.
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {a.rsplit("/", 1)[-1] for a in assets} == {"swagger-ui.css", "favicon.png", "swagger-ui-bundle.js"}
    kinds = {"css": "text/css", "js": "javascript", "png": "image/png"}
    for asset in assets:
        loaded = client.get(asset)
        assert loaded.status_code == 200, asset
        assert kinds[asset.rsplit(".", 1)[-1]] in loaded.headers["content-type"]
        assert loaded.headers["x-content-type-options"] == "nosniff"
    # And what it reads to render: the OpenAPI document, from this API ('self').
    assert "url: '/openapi.json'" in page.text
    assert client.get("/openapi.json").json()["paths"]
