"""exchange_site/views.py: site plumbing pages."""

from django.test import Client


def test_favicon_is_served_when_a_browser_asks_for_it(db):
    resp = Client().get("/favicon.ico")
    assert resp.status_code == 200
    assert resp["Content-Type"] == "image/x-icon"
    assert resp["Cache-Control"] == "max-age=86400, public"
    assert resp.getvalue()[:4] == b"\x00\x00\x01\x00"  # an ICO header
