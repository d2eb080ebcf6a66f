def test_schema_describes_the_markets_endpoint_when_requested(client, db):
    response = client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/markets" in schema["paths"]


def test_api_docs_page_uses_local_assets_when_opened(client, db):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html  # served from drf-spectacular-sidecar: works offline
