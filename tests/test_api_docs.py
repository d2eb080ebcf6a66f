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


def test_api_answers_json_whatever_the_accept_header_when_the_view_has_one_renderer(client, db):
    response = client.get("/api/v1/markets", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert isinstance(response.json(), list)


def test_schema_still_negotiates_yaml_or_json_when_asked(client, db):
    assert client.get("/api/schema")["Content-Type"].startswith("application/vnd.oai.openapi")
    as_json = client.get("/api/schema", {"format": "json"})
    assert as_json["Content-Type"].startswith("application/vnd.oai.openapi+json")


def test_schema_documents_the_read_your_writes_503_on_every_private_read(client, db):
    paths = client.get("/api/schema", {"format": "json"}).json()["paths"]
    private_reads = (
        "/user/balances",
        "/order",
        "/orders",
        "/user/orders",
        "/user/trades",
        "/user/deposits",
        "/user/withdrawals",
    )
    for path in private_reads:
        assert "503" in paths["/api/v1" + path]["get"]["responses"], path


def test_schema_documents_the_transfer_history_filters(client, db):
    paths = client.get("/api/schema", {"format": "json"}).json()["paths"]
    for path in ("/api/v1/user/deposits", "/api/v1/user/withdrawals"):
        names = {p["name"] for p in paths[path]["get"]["parameters"]}
        assert names >= {"asset", "status", "limit", "cursor"}, path
