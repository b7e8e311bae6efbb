"""Catalogue management in pages: admins' edits apply at once and are kept as changes (author,
source, time, before and after); village staff propose changes to their own village's texts and
experiences and an admin approves them; approved changes survive a re-seed; accounts of every
role are created, suspended and given a new password; villages whose craft is at risk are
marked in the handbook."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tourplanner.adapters.orm import AuditEvent, CatalogueChange, Experience, Product, User, Village
from tourplanner.domain.errors import ValidationError
from tourplanner.extensions import db
from tourplanner.security import audit
from tourplanner.services import accounts, agencies, stats
from tourplanner.services import catalogue_admin as admin
from tourplanner.services.catalogue_io import seed

ADMIN = ("city@example.org", "correct horse 31")
STAFF = ("potter@bat-trang.example", "correct horse 32")
OTHER = ("weaver@van-phuc.example", "correct horse 33")


@pytest.fixture
def people(app):
    accounts.create_user(*ADMIN, "admin")
    accounts.create_user(*STAFF, "village", "bat-trang")
    accounts.create_user(*OTHER, "village", "van-phuc")


def _login(client, who=ADMIN):
    client.post("/village/logout")
    response = client.post("/village/login", data={"email": who[0], "password": who[1]})
    assert response.status_code == 302, response.text


def _village(slug="bat-trang") -> Village:
    db.session.expire_all()
    return db.session.scalar(select(Village).where(Village.slug == slug))


def _user(email: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def _form_of(client, path: str) -> dict[str, str]:
    """Every field of the page's main form as the browser would send it unchanged."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    text = page.get_data(as_text=True)
    form = text[text.index('class="cf-form"') :]
    form = form[: form.index("</form>")]
    values: dict[str, str] = {}
    for m in re.finditer(r'<input type="text"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form):
        values[m.group(1)] = html.unescape(m.group(2))
    for m in re.finditer(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        values[m.group(1)] = html.unescape(m.group(2))
    for m in re.finditer(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', m.group(2))
        first = re.search(r'<option value="([^"]*)"', m.group(2))
        values[m.group(1)] = html.unescape((chosen or first).group(1)) if (chosen or first) else ""
    return values


def _errors(text: str) -> dict[str, str]:
    return {
        m.group(1): html.unescape(m.group(2))
        for m in re.finditer(r'<p class="field-error" id="f_([^"]+)-error"[^>]*>(.*?)</p>', text)
    }


# --- admins edit; every edit is a change ---------------------------------------------------------


def test_an_admins_edit_applies_at_once_and_is_kept_with_author_source_and_before_after(
    client, people
):
    _login(client)
    form = _form_of(client, "/admin/catalogue/villages/bat-trang")
    assert form["name_vi"] == "Làng gốm Bát Tràng"
    form.update(craft_at_risk="true", lat="20,9761", lon="105.9135", coord_quality="survey")
    form["source"] = "Survey by the city's tourism office, 2026-11-30"
    response = client.post("/admin/catalogue/villages/bat-trang", data=form)
    assert response.status_code == 302, response.text
    village = _village()
    assert (village.lat, village.lon, village.craft_at_risk) == (20.9761, 105.9135, True)
    assert village.coord_quality == "survey"
    change = db.session.scalars(select(CatalogueChange)).one()
    assert change.status == "applied"
    assert change.author_id == change.decided_by == _user(ADMIN[0]).id
    assert change.source == "Survey by the city's tourism office, 2026-11-30"
    assert change.changes == {
        "lat": [20.983, 20.9761],
        "lon": [105.917, 105.9135],
        "coord_quality": ["page", "survey"],
        "craft_at_risk": [None, True],
    }
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.event == "catalogue_change_applied")
    ).one()
    assert event.subject == "village:bat-trang" and event.details["change_id"] == change.id
    history = client.get("/admin/catalogue/villages/bat-trang?lang=en").get_data(as_text=True)
    assert "Survey by the city&#39;s tourism office" in history and "city@example.org" in history


def test_saving_the_form_unchanged_records_nothing(client, people):
    _login(client)
    form = _form_of(client, "/admin/catalogue/villages/bat-trang")
    response = client.post("/admin/catalogue/villages/bat-trang", data=form)
    assert response.status_code == 302
    assert db.session.scalars(select(CatalogueChange)).all() == []


def test_a_fact_needs_a_source_and_every_refusal_is_next_to_its_field_with_the_typing_kept(
    client, people
):
    _login(client)
    form = _form_of(client, "/admin/catalogue/villages/bat-trang")
    form.update(lat="abc", recognised_year="3000", craft_restored_year="nineteen", source="")
    for lang, words in (
        ("en", {"lat": "decimal degrees", "recognised_year": "A year from 1945"}),
        ("vi", {"source": None}),
    ):
        response = client.post(f"/admin/catalogue/villages/bat-trang?lang={lang}", data=form)
        assert response.status_code == 400
        text = response.get_data(as_text=True)
        errors = _errors(text)
        assert {"lat", "recognised_year", "craft_restored_year"} <= set(errors)
        for name, phrase in words.items():
            if phrase:
                assert phrase in errors[name]
        assert 'value="abc"' in text and 'value="nineteen"' in text
    assert _village().lat == 20.983
    # A fact without a source: refused next to the source field.
    form = _form_of(client, "/admin/catalogue/villages/bat-trang")
    form.update(recognised_year="2026", recognised_traditional="true")
    text = client.post("/admin/catalogue/villages/bat-trang?lang=en", data=form).get_data(
        as_text=True
    )
    assert "Say where this comes from" in _errors(text)["source"]
    # Texts alone need no source.
    form = _form_of(client, "/admin/catalogue/villages/bat-trang")
    form["story_en"] = "Seven centuries of pottery on the Red River."
    assert client.post("/admin/catalogue/villages/bat-trang", data=form).status_code == 302
    assert _village().story_en == "Seven centuries of pottery on the Red River."


def test_the_datasets_rules_judge_the_position_and_a_recognition_year(client, people):
    _login(client)
    form = _form_of(client, "/admin/catalogue/villages/bat-trang")
    form.update(coord_quality="unknown", source="a test")
    text = client.post("/admin/catalogue/villages/bat-trang?lang=en", data=form).get_data(
        as_text=True
    )
    assert "Say where this position comes from" in _errors(text)["coord_quality"]
    form = _form_of(client, "/admin/catalogue/villages/bat-trang")
    form.update(lat="1.5", lon="105.9", source="a test")
    assert "Outside Vietnam" in _errors(
        client.post("/admin/catalogue/villages/bat-trang?lang=en", data=form).get_data(as_text=True)
    ).get("lat", "")
    form = _form_of(client, "/admin/catalogue/villages/bat-trang")
    form.update(recognised_traditional="", recognised_year="2026", source="a test")
    errors = _errors(
        client.post("/admin/catalogue/villages/bat-trang?lang=en", data=form).get_data(as_text=True)
    )
    assert "recognised traditional craft village" in errors["recognised_year"]


def test_a_position_pasted_from_a_map_as_one_pair_fills_both_fields(client, people):
    slug = db.session.scalars(
        select(Village.slug).where(Village.lat.is_(None)).order_by(Village.slug)
    ).first()
    _login(client)
    form = _form_of(client, f"/admin/catalogue/villages/{slug}")
    form.update(lat="21.0612, 105.7301", lon="", coord_quality="survey", source="visit 2026")
    assert client.post(f"/admin/catalogue/villages/{slug}", data=form).status_code == 302
    village = _village(slug)
    assert (village.lat, village.lon) == (21.0612, 105.7301)
    page = client.get(f"/villages/{slug}?lang=en").get_data(as_text=True)
    assert "21.0612, 105.7301" in page


def test_the_stats_dashboard_counts_what_admins_record(client, people):
    _login(client)
    form = _form_of(client, "/admin/catalogue/villages/bat-trang")
    year = datetime.now(UTC).year
    form.update(
        recognised_traditional="true",
        recognised_year=str(year),
        craft_at_risk="true",
        craft_restored_year=str(year),
        source="Decision of the city, test",
    )
    assert client.post("/admin/catalogue/villages/bat-trang", data=form).status_code == 302
    board = stats.dashboard()
    by_key = {f.key: f for f in board.figures}
    assert "bat-trang" in {r.slug for r in by_key["newly_recognised_villages"].rows}
    assert "bat-trang" in {r.slug for r in by_key["crafts_restored"].rows}
    assert "bat-trang" in {r.slug for r in board.at_risk}


def test_admins_add_a_village_and_an_experience(client, people):
    _login(client)
    data = {
        "name_vi": "Làng nón Chuông mới",
        "name_en": "New Chuong Hat Village",
        "district": "Thanh Oai",
        "category": "conical_hats",
        "crafts": "nón lá\nnón bài thơ",
        "coord_quality": "unknown",
        "craft_at_risk": "true",
        "source": "Recognition list 2026 (test)",
    }
    response = client.post("/admin/catalogue/villages/new", data=data)
    assert response.status_code == 302, response.text
    village = _village("new-chuong-hat-village")
    assert village.crafts == ["nón lá", "nón bài thơ"] and not village.has_position
    assert "non la" in village.search_text
    change = db.session.scalars(select(CatalogueChange)).one()
    assert change.changes["slug"] == [None, "new-chuong-hat-village"]
    # Missing facts are named; what was typed stays.
    bad = client.post("/admin/catalogue/villages/new?lang=en", data={"name_vi": "X", "source": ""})
    assert bad.status_code == 400
    errors = _errors(bad.get_data(as_text=True))
    assert errors["name_en"] == "Required." and "source" in errors
    exp = client.post(
        "/admin/catalogue/villages/new-chuong-hat-village/experiences/new",
        data={
            "kind": "workshop",
            "title_vi": "Làm nón",
            "title_en": "Make a hat",
            "duration_minutes": "90",
            "price_adult_vnd": "150.000",
            "source": "Price list from the village head, 2026-11",
        },
    )
    assert exp.status_code == 302, exp.text
    made = db.session.scalar(select(Experience).where(Experience.title_en == "Make a hat"))
    assert made.price_adult_vnd == 150_000 and made.village.slug == "new-chuong-hat-village"
    assert made.duration_is_default is False and not made.bookable  # no schedule yet


def test_an_admin_corrects_an_experience_and_a_product(client, people):
    _login(client)
    slug = "bat-trang-workshop-pottery-wheel"
    form = _form_of(client, f"/admin/catalogue/experiences/{slug}")
    form.update(price_adult_vnd="180 000", duration_minutes="100", source="Village price list")
    assert client.post(f"/admin/catalogue/experiences/{slug}", data=form).status_code == 302
    exp = db.session.scalar(select(Experience).where(Experience.slug == slug))
    db.session.refresh(exp)
    assert (exp.price_adult_vnd, exp.duration_minutes) == (180_000, 100)
    product = db.session.scalars(select(Product).order_by(Product.slug)).first()
    form = _form_of(client, f"/admin/catalogue/products/{product.slug}")
    form.update(name_en="Glazed tea set", ip_protected="true", source="IP office register")
    assert client.post(f"/admin/catalogue/products/{product.slug}", data=form).status_code == 302
    db.session.refresh(product)
    assert product.name_en == "Glazed tea set" and product.ip_protected is True
    assert "glazed tea set" in product.search_text
    form["price_min_vnd"], form["price_max_vnd"] = "500000", "100000"
    text = client.post(f"/admin/catalogue/products/{product.slug}?lang=en", data=form)
    assert "below the lowest" in _errors(text.get_data(as_text=True))["price_max_vnd"]


# --- village staff propose, admins approve -------------------------------------------------------


def test_staff_propose_their_villages_texts_the_admin_approves_and_the_public_sees_them(
    client, people
):
    _login(client, STAFF)
    form = _form_of(client, "/village/texts")
    form.update(story_vi="Làng gốm bảy trăm năm.", story_en="Seven centuries of pottery.")
    form["contact_phone"] = "024 3874 0000"
    assert client.post("/village/texts", data=form).status_code == 302
    assert _village().story_en is None  # not public yet
    assert "Seven centuries" not in client.get("/villages/bat-trang?lang=en").get_data(as_text=True)
    change = db.session.scalars(select(CatalogueChange)).one()
    assert change.status == "pending" and change.author_id == _user(STAFF[0]).id
    # The form starts from the proposal still waiting.
    assert _form_of(client, "/village/texts")["story_en"] == "Seven centuries of pottery."
    _login(client)
    queue = client.get("/admin/catalogue/changes?status=pending&lang=en").get_data(as_text=True)
    assert "Seven centuries of pottery." in queue and STAFF[0] in queue
    response = client.post(
        f"/admin/catalogue/changes/{change.id}/decide", data={"action": "approve"}
    )
    assert response.status_code == 302
    assert _village().story_en == "Seven centuries of pottery."
    assert _village().contact == {"phone": "024 3874 0000"}
    page = client.get("/villages/bat-trang?lang=en").get_data(as_text=True)
    assert "Seven centuries of pottery." in page and "024 3874 0000" in page
    db.session.refresh(change)
    assert change.status == "approved" and change.decided_by == _user(ADMIN[0]).id
    again = client.post(f"/admin/catalogue/changes/{change.id}/decide", data={"action": "reject"})
    assert again.status_code == 302  # already decided: said, nothing changes
    db.session.refresh(change)
    assert change.status == "approved"


def test_a_rejected_proposal_changes_nothing_and_the_village_reads_the_note(client, people):
    _login(client, STAFF)
    slug = "bat-trang-workshop-pottery-wheel"
    form = _form_of(client, f"/village/experiences/{slug}")
    form.update(price_adult_vnd="1")
    assert client.post(f"/village/experiences/{slug}", data=form).status_code == 302
    change = db.session.scalars(select(CatalogueChange)).one()
    _login(client)
    client.post(
        f"/admin/catalogue/changes/{change.id}/decide",
        data={"action": "reject", "note": "Ghi rõ giá theo người"},
    )
    exp = db.session.scalar(select(Experience).where(Experience.slug == slug))
    db.session.refresh(exp)
    assert exp.price_adult_vnd != 1
    _login(client, STAFF)
    page = client.get("/village/experiences?lang=en").get_data(as_text=True)
    assert "Ghi rõ giá theo người" in page and "rejected" in page


def test_staff_reach_only_their_own_village_and_only_texts_and_experiences(client, people):
    _login(client, OTHER)
    assert client.get("/village/experiences/bat-trang-workshop-pottery-wheel").status_code == 404
    _login(client, STAFF)
    form = _form_of(client, "/village/texts")
    form.update(story_vi="Câu chuyện", lat="10.0", craft_at_risk="true", name_vi="Hacked")
    assert client.post("/village/texts", data=form).status_code == 302
    change = db.session.scalars(select(CatalogueChange)).one()
    assert set(change.changes) == {"story_vi"}
    for path in ("/admin/catalogue", "/admin/accounts", "/admin/catalogue/changes"):
        assert client.get(path).status_code == 403


def test_a_newer_proposal_replaces_the_older_and_a_stale_field_is_flagged(client, people):
    _login(client, STAFF)
    form = _form_of(client, "/village/texts")
    client.post("/village/texts", data={**form, "story_vi": "Bản một"})
    client.post("/village/texts", data={**form, "story_vi": "Bản hai", "story_en": "Two"})
    rows = db.session.scalars(select(CatalogueChange).order_by(CatalogueChange.id)).all()
    assert [r.status for r in rows] == ["superseded", "pending"]
    assert rows[1].changes["story_vi"] == [None, "Bản hai"]
    _login(client)
    admin_form = _form_of(client, "/admin/catalogue/villages/bat-trang")
    admin_form["story_en"] = "The admin's text"
    client.post("/admin/catalogue/villages/bat-trang", data=admin_form)
    queue = client.get("/admin/catalogue/changes?status=pending&lang=en").get_data(as_text=True)
    assert "changed since it was proposed" in queue


def test_each_proposal_and_decision_is_an_audit_event_naming_the_row_and_fields(app, people):
    staff, boss = _user(STAFF[0]), _user(ADMIN[0])
    now = datetime(2026, 12, 1, tzinfo=UTC)
    first = admin.edit("village", "bat-trang", {"story_en": "One"}, by=staff, source=None, now=now)
    second = admin.edit(
        "village",
        "bat-trang",
        {"story_en": "Two", "story_vi": "Hai"},
        by=staff,
        source=None,
        now=now,
    )
    admin.decide(second.id, approve=False, note="Nguồn?", by=boss, now=now)
    third = admin.edit(
        "village", "bat-trang", {"story_en": "Three"}, by=staff, source=None, now=now
    )
    admin.decide(third.id, approve=True, note=None, by=boss, now=now)
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.event.like("catalogue_change_%"))
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.event, e.email, e.details) for e in events] == [
        ("catalogue_change_proposed", STAFF[0], {"change_id": first.id, "fields": ["story_en"]}),
        (
            "catalogue_change_proposed",
            STAFF[0],
            {"change_id": second.id, "fields": ["story_en", "story_vi"]},
        ),
        (
            "catalogue_change_rejected",
            ADMIN[0],
            {"change_id": second.id, "fields": ["story_en", "story_vi"]},
        ),
        ("catalogue_change_proposed", STAFF[0], {"change_id": third.id, "fields": ["story_en"]}),
        ("catalogue_change_approved", ADMIN[0], {"change_id": third.id, "fields": ["story_en"]}),
    ]
    assert {e.subject for e in events} == {"village:bat-trang"}
    assert [c.status for c in (first, second, third)] == ["superseded", "rejected", "approved"]


# --- the seed keeps what was edited --------------------------------------------------------------


def test_applied_and_approved_changes_survive_a_reseed_and_the_rest_follows_the_dataset(
    client, people
):
    _login(client, STAFF)
    form = _form_of(client, "/village/texts")
    client.post("/village/texts", data={**form, "story_vi": "Được duyệt"})
    approved = db.session.scalars(select(CatalogueChange)).one()
    _login(client)
    client.post(f"/admin/catalogue/changes/{approved.id}/decide", data={"action": "approve"})
    form = _form_of(client, "/admin/catalogue/villages/bat-trang")
    form.update(lat="20.9761", lon="105.9135", coord_quality="survey", name_en="Bat Trang Pottery")
    form.update(craft_at_risk="true", source="survey 2026")
    assert client.post("/admin/catalogue/villages/bat-trang", data=form).status_code == 302
    _login(client, STAFF)
    client.post("/village/texts", data={**_form_of(client, "/village/texts"), "story_en": "Wait"})
    # Something nobody edited drifts from the dataset; the seed brings it back.
    village = _village()
    village.founded = "drifted"
    db.session.commit()

    report = seed(demo=True)

    village = _village()
    assert (village.lat, village.lon, village.coord_quality) == (20.9761, 105.9135, "survey")
    assert village.name_en == "Bat Trang Pottery" and village.craft_at_risk is True
    assert village.story_vi == "Được duyệt"
    assert village.story_en is None  # still waiting: not applied
    assert village.founded.startswith("14th century")
    assert "villages: 0 created, 1 updated" in report
    assert "villages: 0 created, 0 updated" in seed(demo=True)  # idempotent with the edits


def test_a_recorded_length_stays_recorded_through_a_reseed(client, people):
    _login(client)
    slug = "bat-trang-visit"
    form = _form_of(client, f"/admin/catalogue/experiences/{slug}")
    form.update(duration_minutes="150", source="Asked the museum, 2026-11")
    assert client.post(f"/admin/catalogue/experiences/{slug}", data=form).status_code == 302
    seed(demo=True)
    db.session.expire_all()
    visit = db.session.scalar(select(Experience).where(Experience.slug == slug))
    assert (visit.duration_minutes, visit.duration_is_default) == (150, False)


def test_the_seed_keeps_a_position_whole_when_one_of_its_fields_was_edited(app):
    """A position and its quality are judged together: the seed never pairs an edited
    coordinate note with the dataset's coordinates, or a typed point with "unknown"."""
    village = _village()
    village.lat, village.lon, village.coord_quality = 20.9761, 105.9135, "survey"
    db.session.add(
        CatalogueChange(
            entity="village",
            entity_id=village.id,
            changes={"coord_note": [None, "surveyed"]},
            status="applied",
        )
    )
    village.coord_note = "surveyed"
    db.session.commit()
    row = {"slug": "bat-trang", "lat": 20.983, "lon": 105.917, "coord_quality": "page"}
    kept = admin.keep_edited({"village": [(1, row)], "product": []})
    assert kept["village"][0][1] == {
        "slug": "bat-trang",
        "lat": 20.9761,
        "lon": 105.9135,
        "coord_quality": "survey",
        "coord_note": "surveyed",
    }
    assert kept["product"] == []


# --- accounts ------------------------------------------------------------------------------------


def test_admins_create_an_account_whose_password_is_shown_once(client, people):
    _login(client)
    response = client.post(
        "/admin/accounts",
        data={"email": "Lacquer@Ha-Thai.example", "role": "village", "village": "ha-thai"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["Cache-Control"] == "no-store"
    password = re.search(r'<pre id="new-password"><code>([^<]+)</code>', response.text).group(1)
    user = _user("lacquer@ha-thai.example")
    assert user.role == "village" and user.village.slug == "ha-thai"
    other = client.application.test_client()
    signed_in = other.post(
        "/village/login", data={"email": "lacquer@ha-thai.example", "password": password}
    )
    assert signed_in.status_code == 302
    taken = client.post(
        "/admin/accounts?lang=en",
        data={"email": STAFF[0], "role": "admin", "village": ""},
    )
    assert taken.status_code == 400
    assert "already has an account" in taken.get_data(as_text=True)
    assert f'value="{STAFF[0]}"' in taken.get_data(as_text=True)
    no_village = client.post(
        "/admin/accounts?lang=en", data={"email": "x@y.example", "role": "village"}
    )
    assert "need their village" in no_village.get_data(as_text=True)


def test_agency_users_are_created_through_their_agency(client, people):
    agencies.create_agency("Hanoi Trails", "office@trails.example", slug="trails")
    _login(client)
    response = client.post(
        "/admin/accounts",
        data={"email": "guide@trails.example", "role": "agency_staff", "agency": "trails"},
    )
    assert response.status_code == 201
    user = _user("guide@trails.example")
    assert user.role == "agency_staff" and user.agency_id is not None


def test_a_suspended_account_is_signed_out_and_refused_then_reactivated(client, people):
    staff_client = client.application.test_client()
    _login(staff_client, STAFF)
    assert staff_client.get("/village/texts").status_code == 200
    _login(client)
    staff = _user(STAFF[0])
    assert client.post(f"/admin/accounts/{staff.id}/suspend").status_code == 302
    assert staff_client.get("/village/texts").status_code == 302  # the session has ended
    refused = staff_client.post("/village/login", data={"email": STAFF[0], "password": STAFF[1]})
    assert refused.status_code == 401
    assert {"user_suspended"} <= {e.event for e in audit.events(audit.AuditFilter())}
    client.post(f"/admin/accounts/{staff.id}/reactivate")
    _login(staff_client, STAFF)
    me = _user(ADMIN[0])
    mine = client.post(f"/admin/accounts/{me.id}/suspend?lang=en")
    assert mine.status_code == 400 and "your own account" in mine.get_data(as_text=True)


def test_a_new_password_ends_the_old_one_and_every_session(client, people):
    staff_client = client.application.test_client()
    _login(staff_client, STAFF)
    _login(client)
    staff = _user(STAFF[0])
    response = client.post(f"/admin/accounts/{staff.id}/reset")
    assert response.headers["Cache-Control"] == "no-store"
    password = re.search(r'<pre id="new-password"><code>([^<]+)</code>', response.text).group(1)
    assert staff_client.get("/village/texts").status_code == 302
    assert (
        staff_client.post(
            "/village/login", data={"email": STAFF[0], "password": STAFF[1]}
        ).status_code
        == 401
    )
    _login(staff_client, (STAFF[0], password))


def test_nobody_suspends_their_own_account(app, people):
    me = _user(ADMIN[0])
    with pytest.raises(ValidationError) as refused:
        admin.set_active(me.id, False, by=me)
    assert refused.value.code == "cannot_suspend_self"
    assert _user(ADMIN[0]).active


def test_the_audit_log_knows_the_catalogue_events():
    for name in ("applied", "proposed", "approved", "rejected"):
        assert f"catalogue_change_{name}" in audit.EVENTS


# --- the handbook marks crafts at risk -----------------------------------------------------------


def test_villages_whose_craft_is_at_risk_carry_a_badge_in_the_handbook(client):
    village = _village()
    village.craft_at_risk = True
    db.session.commit()
    badge = "craft at risk — your visit helps"
    assert badge in client.get("/villages/bat-trang?lang=en").get_data(as_text=True)
    assert badge in client.get("/villages?lang=en&q=bat+trang").get_data(as_text=True)
    home = client.get("/?lang=en").get_data(as_text=True)
    assert home.count(badge) == 1
    other = client.get("/villages/van-phuc?lang=en").get_data(as_text=True)
    assert badge not in other


def test_every_catalogue_form_comes_back_refused_with_the_typing_kept_and_nothing_recorded(
    client, people
):
    slug = "bat-trang-workshop-pottery-wheel"
    product = db.session.scalars(select(Product).order_by(Product.slug)).first().slug
    cases = (
        (ADMIN, f"/admin/catalogue/experiences/{slug}", "price_adult_vnd", "abc", "whole number"),
        (ADMIN, f"/admin/catalogue/products/{product}", "price_min_vnd", "cheap", "whole number"),
        (ADMIN, "/admin/catalogue/villages/bat-trang", "lat", "north", "decimal degrees"),
        (STAFF, "/village/texts", "contact_email", "not an address", "valid e-mail"),
        (STAFF, f"/village/experiences/{slug}", "min_age", "six", "whole number"),
    )
    for who, path, field, typed, words in cases:
        _login(client, who)
        form = {**_form_of(client, path), field: typed, "source": "A check (test)"}
        response = client.post(f"{path}?lang=en", data=form)
        assert response.status_code == 400, path
        text = response.get_data(as_text=True)
        assert words in _errors(text)[field], path
        assert f'value="{typed}"' in text, path
    _login(client)
    new = client.post(
        "/admin/catalogue/villages/bat-trang/experiences/new?lang=en",
        data={"kind": "workshop", "title_en": "Glaze a bowl", "duration_minutes": "ninety"},
    )
    assert new.status_code == 400
    assert "whole number" in _errors(new.get_data(as_text=True))["duration_minutes"]
    assert 'value="Glaze a bowl"' in new.get_data(as_text=True)
    assert db.session.scalars(select(CatalogueChange)).all() == []
