"""The app starts and serves the catalogue from the migrated, seeded database."""


def test_villages_api_lists_the_shipped_dataset(client):
    body = client.get("/api/v1/villages?per_page=200").get_json()
    assert body["total"] == 78
