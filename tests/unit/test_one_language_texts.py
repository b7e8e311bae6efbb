"""Catalogue texts that exist in one language only (#9 Must show): shown on the other
language's page marked with their own ``lang`` and a visible note, never passed off as a
translation; a text in the page's language is shown plainly."""

from __future__ import annotations

import re

from sqlalchemy import select

from tourplanner.adapters.orm import Experience, Village
from tourplanner.extensions import db


def _bat_trang() -> Village:
    return db.session.scalars(select(Village).where(Village.slug == "bat-trang")).one()


def _story(page: str) -> str:
    return page.split("<h2>", 2)[1]  # the "About the village" section


def test_a_story_only_in_vietnamese_is_marked_vi_with_a_note_on_the_english_page(client):
    village = _bat_trang()
    village.story_vi, village.story_en = "Làng gốm bên sông Hồng.", None
    db.session.commit()
    english = _story(client.get("/villages/bat-trang?lang=en").get_data(as_text=True))
    assert '<p lang="vi">Làng gốm bên sông Hồng.</p>' in english
    assert "This text is only in Vietnamese so far." in english
    vietnamese = _story(client.get("/villages/bat-trang?lang=vi").get_data(as_text=True))
    assert "<p>Làng gốm bên sông Hồng.</p>" in vietnamese and "one-language" not in vietnamese


def test_an_experience_described_only_in_english_is_marked_en_on_the_vietnamese_page(client):
    experience = db.session.scalars(
        select(Experience).where(Experience.slug == "bat-trang-workshop-pottery-wheel")
    ).one()
    experience.description_vi, experience.description_en = None, "Throw a bowl."
    db.session.commit()
    page = client.get("/villages/bat-trang?lang=vi").get_data(as_text=True)
    section = page[page.index(f'id="experience-{experience.id}"') :]
    section = section[: section.index("</div>")]
    assert re.search(r'<p lang="en">Throw a bowl\.</p>\s*<p class="meta one-language">', section)


def test_texts_in_both_languages_carry_no_note(client):
    village = _bat_trang()
    village.story_vi, village.story_en = "Làng gốm.", "A pottery village."
    db.session.commit()
    for lang, text in (("vi", "Làng gốm."), ("en", "A pottery village.")):
        story = _story(client.get(f"/villages/bat-trang?lang={lang}").get_data(as_text=True))
        assert f"<p>{text}</p>" in story and "one-language" not in story
