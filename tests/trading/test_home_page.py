def test_home_page_lists_the_markets_when_seeded(client, markets):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    for symbol in ("SOL_USDC", "BTC_USDC", "ETH_USDC"):
        assert symbol in html
    assert "0.00001" in html  # BTC lot size, exact
    assert "0.2 %" in html  # taker fee


def test_home_page_says_how_to_seed_when_there_are_no_markets(client, db):
    assert "seed_demo" in client.get("/").content.decode()
