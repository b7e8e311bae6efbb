"""Tour routes (#13): curated by admins (from scratch, a saved plan or a package), drafts until
published, in both languages, with photos and the audit of every change; published routes on
their pages, in the handbook, in the API and in the targets; planned on a date and booked."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.catalogue_zip import make_png
from tourplanner.adapters.orm import AuditEvent, TourRoute, Village
from tourplanner.domain.tour_routes import RouteInvalid, RouteNotPublishable
from tourplanner.extensions import db
from tourplanner.services import accounts, plan_pool, planning, route_plans, stats, tour_routes

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
ADMIN = ("city@example.org", "correct horse 3")


def _day(offset: int = 10, weekday: int | None = None) -> str:
    day = datetime.now(HANOI).date() + timedelta(days=offset)
    while weekday is not None and day.weekday() != weekday:
        day += timedelta(days=1)
    return day.isoformat()


def _route(**overrides) -> dict:
    data = {
        "name_vi": "Tuyến gốm thử",
        "name_en": "Test ceramics route",
        "theme_vi": "Gốm",
        "theme_en": "Ceramics",
        "summary_vi": "Làm gốm ở Bát Tràng rồi dạo Kim Lan.",
        "summary_en": "Pottery in Bát Tràng, then a walk in Kim Lan.",
        "length": "day",
        "travel_mode": "car",
        "interests": ["ceramics"],
        "stops": [
            {"village": "bat-trang", "experience": "bat-trang-workshop-pottery-wheel"},
            {"village": "kim-lan"},
        ],
    }
    data.update(overrides)
    return data


@pytest.fixture
def admin(app):
    app.config["PLANNER_TIME_LIMIT"] = 0.1
    return accounts.create_user(*ADMIN, "admin")


def _login(client, email: str = ADMIN[0], password: str = ADMIN[1]):
    return client.post("/login", data={"email": email, "password": password})


def _published_count() -> int:
    stmt = select(func.count()).select_from(TourRoute).where(TourRoute.status == "published")
    return db.session.scalar(stmt)


# --- the service ------------------------------------------------------------------------------


def test_a_new_route_is_a_draft_that_no_public_page_or_list_shows(client, admin):
    route = tour_routes.create_route(_route(), user_id=admin.id)
    assert route.status == "draft" and route.slug == "test-ceramics-route"
    assert [s.village.slug for s in route.stops] == ["bat-trang", "kim-lan"]
    assert client.get(f"/routes/{route.slug}").status_code == 404
    assert client.get(f"/api/v1/routes/{route.slug}").status_code == 404
    assert route.slug not in [r["slug"] for r in client.get("/api/v1/routes").get_json()["items"]]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.subject == route.slug)).one()
    assert event.event == "route_created" and event.email == ADMIN[0]


def test_every_problem_of_a_route_is_named_by_its_field_at_once(app):
    bad = _route(
        name_vi="",
        name_en="",
        length="week",
        stops=[
            {"village": "bat-trang", "experience": "van-phuc-workshop-silk-weaving"},
            {"village": "no-such-village"},
            {"village": "kim-lan", "day": 2},
        ],
    )
    with pytest.raises(RouteInvalid) as caught:
        tour_routes.create_route(bad, user_id=None)
    assert set(caught.value.problems) == {"name_vi", "length", "stops.2.day"}
    # once the texts are right, the stops are checked against the catalogue
    with pytest.raises(RouteInvalid) as caught:
        tour_routes.create_route({**bad, "name_vi": "Tuyến", "length": "two_days"}, user_id=None)
    assert caught.value.problems["stops.0.experience"].code == "experience_not_in_village"
    assert caught.value.problems["stops.1.village"].code == "unknown_village"
    twice = _route(stops=[{"village": "kim-lan"}, {"village": "kim-lan"}])
    with pytest.raises(RouteInvalid) as caught:
        tour_routes.create_route(twice, user_id=None)
    assert caught.value.problems["stops.1.village"].code == "village_twice"
    assert db.session.scalar(select(func.count()).select_from(TourRoute)) == 0


def test_publishing_needs_both_languages_and_two_mapped_stops(app, admin):
    route = tour_routes.create_route(
        _route(name_en="", summary_en="", stops=[{"village": "bat-trang"}]), user_id=admin.id
    )
    with pytest.raises(RouteNotPublishable) as caught:
        tour_routes.publish(route.slug, user_id=admin.id)
    assert caught.value.status == 422
    assert set(caught.value.problems) == {"name_en", "summary_en", "stops"}
    unmapped = db.session.scalar(select(Village.slug).where(Village.lat.is_(None)))
    tour_routes.update_route(
        route.slug, _route(stops=[{"village": "bat-trang"}, {"village": unmapped}]), user_id=None
    )
    with pytest.raises(RouteNotPublishable) as caught:
        tour_routes.publish(route.slug, user_id=admin.id)
    assert caught.value.problems["stops.1.village"].code == "village_not_mapped"
    tour_routes.update_route(route.slug, _route(), user_id=admin.id)
    assert tour_routes.publish(route.slug, user_id=admin.id).status == "published"


def test_an_edit_is_logged_field_by_field_and_a_published_route_stays_publishable(app, admin):
    route = tour_routes.create_route(_route(), user_id=admin.id)
    tour_routes.publish(route.slug, user_id=admin.id)
    changed = _route(theme_en="Pottery", stops=[{"village": "kim-lan"}, {"village": "bat-trang"}])
    tour_routes.update_route(route.slug, changed, user_id=admin.id)
    events = tour_routes.history(route.slug)
    assert [e.event for e in events] == ["route_changed", "route_published", "route_created"]
    changes = events[0].details["changes"]
    assert changes["theme_en"] == ["Ceramics", "Pottery"]
    assert changes["stops"] == [
        ["1:bat-trang:bat-trang-workshop-pottery-wheel", "1:kim-lan:"],
        ["1:kim-lan:", "1:bat-trang:"],
    ]
    with pytest.raises(RouteNotPublishable):
        tour_routes.update_route(route.slug, _route(name_en=""), user_id=admin.id)
    assert tour_routes.get_route(route.slug).name_en == "Test ceramics route"


def _plan_id() -> str:
    plan_id, result = planning.create_plan(
        {
            "start": {"landmark": "hoan-kiem-lake"},
            "date": _day(12),
            "party": {"adults": 2},
            "interests": {"ceramics": 1.0, "silk_textiles": 0.5},
            "must_include": ["bat-trang-workshop-pottery-wheel"],
        }
    )
    assert result["itineraries"], result
    return plan_id


def test_a_saved_plan_becomes_a_draft_with_its_villages_and_experiences_in_order(app, admin):
    plan_id = _plan_id()
    stops = planning.get_plan(plan_id).result["itineraries"][0]["stops"]
    route = tour_routes.create_from_plan(f"http://x.example/plans/{plan_id}", user_id=admin.id)
    assert route.status == "draft" and route.source_plan_id == plan_id
    first: dict[str, str] = {}
    for s in stops:  # a village once, where it first comes; its workshop if it has one
        if s["village"] not in first or s["kind"] == "workshop":
            first[s["village"]] = s["experience_slug"]
    assert [(s.village.slug, s.experience.slug) for s in route.stops] == list(first.items())
    assert "bat-trang-workshop-pottery-wheel" in [s.experience.slug for s in route.stops]
    assert "ceramics" in route.interests and route.travel_mode == "car"
    assert route.name_vi and route.name_en


def test_a_published_package_becomes_a_draft_with_its_days(app, admin):
    from tourplanner.services import agencies, packages

    agency = agencies.seed_demo_agency()
    slug = packages.seed_demo_package(agency["id"])
    view = packages.get_published(slug)
    route = tour_routes.create_from_package(slug, user_id=admin.id)
    expected = []
    for day in view["days"]:
        for stop in day["stops"]:
            if stop["village"]["slug"] not in [v for v, _d in expected]:
                expected.append((stop["village"]["slug"], min(day["number"], 2)))
    assert [(s.village.slug, s.day) for s in route.stops] == expected
    assert route.source_package_id is not None and route.status == "draft"
    assert route.length == ("two_days" if len(view["days"]) > 1 else "day")


def test_photos_are_stored_like_product_photos_and_a_bad_file_is_refused(app, admin, tmp_path):
    app.config["MEDIA_ROOT"] = tmp_path / "media"
    route = tour_routes.create_route(_route(), user_id=admin.id)
    upload = tour_routes.PhotoUpload("kiln.png", make_png(3, 640, 480), alt_en="A kiln")
    tour_routes.add_photos(route.slug, [upload], user_id=admin.id)
    photo = tour_routes.get_route(route.slug).photos[0]
    assert photo["alt_en"] == "A kiln" and (tmp_path / "media/products" / photo["name"]).exists()
    with pytest.raises(RouteInvalid) as caught:
        tour_routes.add_photos(route.slug, [tour_routes.PhotoUpload("x.gif", b"GIF89a")], user_id=1)
    assert caught.value.problems["photos"].code == "bad_photo"
    assert next(e.event for e in tour_routes.history(route.slug)) == "route_photos_changed"


def test_every_change_of_a_route_is_one_audit_event_naming_who_and_what(app, admin, tmp_path):
    app.config["MEDIA_ROOT"] = tmp_path / "media"
    route = tour_routes.create_route(_route(), user_id=admin.id)
    tour_routes.update_route(route.slug, _route(theme_en="Pottery"), user_id=admin.id)
    tour_routes.publish(route.slug, user_id=admin.id)
    tour_routes.unpublish(route.slug, user_id=admin.id)
    upload = tour_routes.PhotoUpload("kiln.png", make_png(3, 640, 480))
    name = tour_routes.add_photos(route.slug, [upload], user_id=admin.id).photos[0]["name"]
    tour_routes.remove_photo(route.slug, name, user_id=admin.id)
    events = list(reversed(tour_routes.history(route.slug)))
    assert [(e.event, e.details) for e in events] == [
        ("route_created", {"source": "scratch", "stops": 2}),
        ("route_changed", {"changes": {"theme_en": ["Ceramics", "Pottery"]}}),
        ("route_published", {}),
        ("route_unpublished", {}),
        ("route_photos_changed", {"added": [name]}),
        ("route_photos_changed", {"removed": [name]}),
    ]
    assert {(e.user_id, e.email, e.subject) for e in events} == {(admin.id, ADMIN[0], route.slug)}


def test_sample_routes_are_seeded_once_published_and_flagged(client, runner):
    first = tour_routes.seed_demo_routes()
    assert len(first) >= 3 and tour_routes.seed_demo_routes() == []
    routes = tour_routes.published_routes()
    assert {r.slug for r in routes} == set(first) and all(r.is_sample for r in routes)
    page = client.get(f"/routes/{first[0]}?lang=en").get_data(as_text=True)
    assert "badge-sample" in page and "A sample route" in page


def test_seed_demo_command_adds_the_sample_routes(app, runner):
    result = runner.invoke(args=["seed", "--demo"])
    assert result.exit_code == 0, result.output
    assert "sample tour routes added: 4" in result.output
    assert _published_count() == 4


def test_unpublishing_takes_a_route_off_the_api_and_the_targets(client, admin):
    route = tour_routes.create_route(_route(), user_id=admin.id)
    tour_routes.publish(route.slug, user_id=admin.id)
    before = stats.targets_json()["tour_routes"]["value"]
    tour_routes.unpublish(route.slug, user_id=admin.id)
    assert stats.targets_json()["tour_routes"]["value"] == before - 1
    assert client.get(f"/api/v1/routes/{route.slug}").status_code == 404


# --- the API --------------------------------------------------------------------------------


def test_the_api_lists_published_routes_with_their_stops_in_order(client, admin):
    tour_routes.seed_demo_routes()
    body = client.get("/api/v1/routes").get_json()
    assert body["total"] == len(body["items"]) == _published_count()
    assert body["total"] == stats.targets_json()["tour_routes"]["value"]
    two_days = client.get("/api/v1/routes/sample-west-of-hanoi-two-days").get_json()
    assert [s["position"] for s in two_days["stops"]] == [1, 2, 3]
    assert [s["day"] for s in two_days["stops"]] == [1, 1, 2]
    assert two_days["villages"] == [s["village"]["slug"] for s in two_days["stops"]]
    assert two_days["length"] == "two_days" and two_days["is_sample"] is True
    assert two_days["stops"][0]["experience"]["kind"] == "workshop"


def test_the_api_filters_by_village_craft_and_length_and_refuses_unknown_ones(client):
    tour_routes.seed_demo_routes()
    ceramics = client.get("/api/v1/routes?interest=ceramics").get_json()["items"]
    assert [r["slug"] for r in ceramics] == ["sample-red-river-ceramics"]
    through = client.get("/api/v1/routes?village=duong-lam").get_json()["items"]
    assert [r["slug"] for r in through] == ["sample-west-of-hanoi-two-days"]
    assert client.get("/api/v1/routes?length=half_day").get_json()["total"] == 1
    for query, code in (("length=week", "invalid_filter"), ("colour=red", "unknown_parameter")):
        response = client.get(f"/api/v1/routes?{query}")
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == code


# --- the pages ------------------------------------------------------------------------------


def test_curation_pages_are_for_admins_only(client, admin):
    accounts.create_user("potter@bat-trang.example", "correct horse 1", "village", "bat-trang")
    assert client.get("/admin/routes").status_code == 302
    _login(client, "potter@bat-trang.example", "correct horse 1")
    assert client.get("/admin/routes").status_code == 403
    assert client.post("/admin/routes/new", data={"name_vi": "x"}).status_code == 403


def _form(**overrides) -> dict:
    data = {
        "name_vi": "Tuyến gốm thử",
        "name_en": "Test ceramics route",
        "summary_vi": "Gốm.",
        "summary_en": "Pottery.",
        "length": "day",
        "travel_mode": "car",
        "interests": ["ceramics"],
        "stop-0-village": "kim-lan",
        "stop-0-order": "2",
        "stop-1-village": "bat-trang",
        "stop-1-experience": "bat-trang-workshop-pottery-wheel",
        "stop-1-order": "1",
    }
    data.update(overrides)
    return data


def test_an_admin_creates_a_route_in_the_form_ordered_by_its_numbers(client, admin):
    _login(client)
    response = client.post("/admin/routes/new?lang=en", data=_form())
    assert response.status_code == 303
    route = tour_routes.get_route("test-ceramics-route")
    assert [s.village.slug for s in route.stops] == ["bat-trang", "kim-lan"]
    assert route.stops[0].experience.slug == "bat-trang-workshop-pottery-wheel"
    edit = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="route-publish"' in edit and "Test ceramics route" in edit


def test_a_refused_form_names_each_field_and_keeps_what_was_typed(client, admin):
    _login(client)
    response = client.post(
        "/admin/routes/new?lang=en",
        data=_form(**{"name_en": "x" * 201, "stop-1-experience": "van-phuc-workshop-silk-weaving"}),
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "At most 200 characters." in page and 'id="name_en-error"' in page
    assert "Tuyến gốm thử" in page and 'name="name_en" id="name_en" value="xxx' in page
    response = client.post(
        "/admin/routes/new?lang=en",
        data=_form(**{"stop-1-experience": "van-phuc-workshop-silk-weaving"}),
    )
    page = response.get_data(as_text=True)
    assert "This experience is not in the village chosen." in page
    assert 'id="stops-0-experience-error"' in page  # bat-trang's row comes first (order 1)


def test_an_admin_turns_a_pasted_plan_address_into_a_draft_and_publishes_it(client, admin):
    plan_id = _plan_id()
    _login(client)
    response = client.post(
        "/admin/routes/from-plan?lang=en", data={"plan": f"http://localhost/plans/{plan_id}"}
    )
    assert response.status_code == 303
    slug = response.headers["Location"].rsplit("/", 1)[1]
    refused = client.post(f"/admin/routes/{slug}/publish?lang=en")
    assert refused.status_code == 422
    assert "Needed before the route can be published." in refused.get_data(as_text=True)
    values = tour_routes.form_values(tour_routes.get_route(slug))
    form = {k: v for k, v in values.items() if isinstance(v, str)}
    form.update(summary_vi="Một ngày gốm.", summary_en="A day of pottery.")
    for n, stop in enumerate(values["stops"]):
        form.update({f"stop-{n}-{k}": str(v) for k, v in stop.items()})
    assert client.post(f"/admin/routes/{slug}?lang=en", data=form).status_code == 303
    before = _published_count()
    assert client.post(f"/admin/routes/{slug}/publish?lang=en").status_code == 303
    assert _published_count() == before + 1
    assert client.get(f"/routes/{slug}?lang=en").status_code == 200


def test_an_unknown_plan_is_said_next_to_the_field(client, admin):
    _login(client)
    response = client.post("/admin/routes/from-plan?lang=en", data={"plan": "nope"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "No saved plan with this address or id." in page and 'value="nope"' in page


def test_the_route_page_has_map_timeline_and_the_plan_form(client):
    tour_routes.seed_demo_routes()
    page = client.get("/routes/sample-west-of-hanoi-two-days?lang=en").get_data(as_text=True)
    assert 'id="route-map"' in page and "data-route=" in page
    assert page.count('class="timeline route-timeline"') == 2  # one per day
    assert 'id="plan-route-form"' in page and 'name="day"' in page
    listing = client.get("/routes?lang=en").get_data(as_text=True)
    assert "/routes/sample-west-of-hanoi-two-days" in listing


def test_the_handbook_lists_routes_and_a_village_page_shows_the_routes_through_it(client):
    tour_routes.seed_demo_routes()
    villages = client.get("/villages?lang=en").get_data(as_text=True)
    assert 'id="handbook-routes"' in villages and "/routes/sample-red-river-ceramics" in villages
    village = client.get("/villages/duong-lam?lang=en").get_data(as_text=True)
    assert 'id="routes-through"' in village and "/routes/sample-west-of-hanoi-two-days" in village


def test_planning_a_route_asks_for_its_stops_of_that_day_and_notes_the_order(client, app):
    app.config["PLANNER_TIME_LIMIT"] = 0.1
    tour_routes.seed_demo_routes()
    route = tour_routes.get_published("sample-west-of-hanoi-two-days")
    request = route_plans.plan_request(route, {"date": _day(), "party": {"adults": 2}, "day": 2})
    assert request["must_include"] == ["duong-lam-workshop-che-lam"]
    assert request["max_stops"] == 1 and request["alternatives"] == 1
    saturday = _day(10, weekday=5)
    response = client.post(
        "/routes/sample-west-of-hanoi-two-days/plan?lang=en",
        data={"date": saturday, "day": "1", "landmark": "hoan-kiem-lake", "adults": "2"},
    )
    assert response.status_code == 303
    location = response.headers["Location"]
    assert "route=sample-west-of-hanoi-two-days" in location and "day=1" in location
    plan = planning.get_plan(location.split("/plans/")[1].split("?")[0])
    villages = [s["village"] for s in plan.result["itineraries"][0]["stops"]]
    assert sorted(villages) == ["kim-hoang", "son-dong"]
    page = client.get(location).get_data(as_text=True)
    assert 'id="route-note"' in page and 'id="route-next-day"' in page


def test_a_route_plan_waits_for_the_plans_pool_like_any_plan(client, monkeypatch):
    class FullPool:
        def admit(self, token: str, settings: object) -> bool:
            return False

    tour_routes.seed_demo_routes()
    monkeypatch.setattr(plan_pool, "embedded", lambda: False)  # as in production
    monkeypatch.setattr(plan_pool, "redis_pool", lambda: FullPool())
    response = client.post(
        "/routes/sample-red-river-ceramics/plan?lang=en",
        data={"date": _day(), "landmark": "hoan-kiem-lake", "adults": "2"},
    )
    assert response.status_code == 503  # never solved in the web process
    assert "Try again in a few seconds." in response.get_data(as_text=True)


def test_a_route_plan_on_a_past_date_is_refused_next_to_the_date(client):
    tour_routes.seed_demo_routes()
    yesterday = (datetime.now(HANOI).date() - timedelta(days=1)).isoformat()
    response = client.post(
        "/routes/sample-red-river-ceramics/plan?lang=en",
        data={"date": yesterday, "landmark": "hoan-kiem-lake", "adults": "3", "children": "1"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Pick a date from today up to a year ahead." in page
    assert 'id="route-date" value="' + yesterday in page and 'aria-invalid="true"' in page
    assert 'id="route-adults" value="3"' in page
