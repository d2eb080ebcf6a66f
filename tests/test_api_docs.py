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


def _schema(client):
    return client.get("/api/schema", {"format": "json"}).json()


def test_schema_lists_every_refusal_with_the_error_body(client, db):
    schema = _schema(client)
    error = {"$ref": "#/components/schemas/Error"}
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            responses = op["responses"]
            expected = {"405", "503"} | (set() if path.endswith("/health") else {"400", "429"})
            if any(op.get("security", [])):
                expected |= {"401", "403"}
            if "requestBody" in op:
                expected |= {"413", "415"}
            assert expected <= set(responses), (method, path, sorted(responses))
            for status, response in responses.items():
                if status[0] in "45" and not path.endswith("/health"):
                    body = response["content"]["application/json"]["schema"]
                    assert body == error, (method, path, status)
    paths = schema["paths"]
    assert "404" in paths["/api/v1/order"]["get"]["responses"]
    assert "409" in paths["/api/v1/order"]["post"]["responses"]
    assert "409" in paths["/api/v1/users"]["post"]["responses"]
    assert "404" in paths["/api/v1/api-keys/{api_key}"]["delete"]["responses"]


def test_schema_gives_market_data_the_shapes_they_answer_with(client, db):
    paths = _schema(client)["paths"]

    def ok(path):
        return paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]

    assert ok("/api/v1/trades")["type"] == "array"
    assert ok("/api/v1/klines")["type"] == "array"
    assert ok("/api/v1/depth")["$ref"].endswith("/DepthOutput")
    one, many = ok("/api/v1/tickers")["oneOf"]
    assert (one["type"], many["type"]) == ("object", "array")
    klines = {p["name"]: p["schema"] for p in paths["/api/v1/klines"]["get"]["parameters"]}
    assert klines["limit"]["maximum"] == 1000
    assert klines["end_time"]["maximum"] == 253402300799999
    assert "1m" in klines["interval"]["enum"]


def test_schema_says_cancel_replies_have_no_fills(client, db):
    schema = _schema(client)
    cancel = schema["paths"]["/api/v1/order"]["delete"]["responses"]["200"]
    ref = cancel["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    component = schema["components"]["schemas"][ref]
    assert "fills" not in component["properties"]
    assert "fills" in schema["components"]["schemas"]["OrderOutput"]["required"]


def test_schema_declares_http_basic_on_the_key_endpoints(client, db):
    schema = _schema(client)
    assert schema["components"]["securitySchemes"]["basicAuth"] == {
        "type": "http",
        "scheme": "basic",
        "description": "Username and password; only for creating, listing and revoking keys.",
    }
    for method in ("get", "post"):
        assert {"basicAuth": []} in schema["paths"]["/api/v1/api-keys"][method]["security"]
