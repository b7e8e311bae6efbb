"""Village back-office: where the products are shown and sold (display space, sales points,
online shops) and the village's videos with their stills. Staff change their own village only;
admins any (``?village=slug``).

A refused form is shown again with what was typed and every problem next to its field, worded
in the page's language (the service gives codes, :data:`MESSAGES` the sentences).

Also here: ``photo_sources``, the template helper that gives a stored photo's ``srcset``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tourplanner.domain.records import SHOP_KINDS
from tourplanner.services import product_media, village_shop
from tourplanner.web import bp
from tourplanner.web.auth import current_user, login_required
from tourplanner.web.products_admin import PRODUCT_UPLOAD_MAX_BYTES, upload_view
from tourplanner.web.village import _own_village

BLANK_ROWS = 2
MESSAGES = {
    "name_required": _l("Give a name."),
    "too_long": _l("At most %(limit)s characters."),
    "both_coordinates": _l("Give both latitude and longitude, or neither."),
    "not_a_number": _l("“%(value)s” is not a number in decimal degrees, e.g. 21.0285."),
    "outside_vietnam": _l(
        "Outside Vietnam (expected between %(low)s and %(high)s): check the number, and that "
        "latitude and longitude are not swapped."
    ),
    "not_https": _l("Give a full secure address starting with https://"),
    "wrong_host": _l("This kind of link must be on %(hosts)s."),
    "unknown_kind": _l("Choose the kind of link."),
    "url_required": _l("Give the address (https://…)."),
    "too_many": _l("At most %(limit)s rows."),
    "not_a_video_link": _l("Give the link of one video on YouTube, Facebook or TikTok."),
    "bad_image": _l("This picture cannot be used: %(why)s"),
}
SHOP_KIND_LABELS = {
    "shop": _l("Own online shop"),
    "marketplace": _l("Marketplace (Shopee, Lazada, Tiki…)"),
    "zalo": _l("Zalo Official Account"),
    "facebook": _l("Facebook page"),
    "other": _l("Other online shop"),
}


def _messages(problems: dict[str, village_shop.Problem]) -> dict[str, str]:
    return {key: str(MESSAGES[p.code]) % p.params for key, p in problems.items()}


def _map_settings() -> dict[str, Any]:
    return {
        "map_tiles": current_app.config["MAP_TILE_URL"],
        "map_attribution": current_app.config["MAP_TILE_ATTRIBUTION"],
    }


def _shop_values(village) -> dict[str, str]:
    """The form fields of what the village has recorded."""
    values: dict[str, str] = {}
    for key, val in (village.display_space or {}).items():
        values[f"ds_{key}"] = str(val)
    for n, point in enumerate(village.sales_points or []):
        values.update({f"sp_{n}_{key}": str(val) for key, val in point.items()})
    for n, link in enumerate(village.shop_links or []):
        values.update({f"link_{n}_{key}": str(val) for key, val in link.items()})
    return values


def _rows(values: dict[str, Any], prefix: str, limit: int, blank: int = BLANK_ROWS) -> range:
    """Rows to show: those with a value, then ``blank`` empty ones, at most ``limit``."""
    used = [
        int(key[len(prefix) :].partition("_")[0])
        for key, val in values.items()
        if key.startswith(prefix) and key[len(prefix) :].partition("_")[0].isdigit() and val
    ]
    return range(min(max(used, default=-1) + 1 + blank, limit))


def _render_shop(village, values: dict[str, Any], errors: dict[str, str], status: int = 200):
    html = render_template(
        "village/shop.html",
        village=village,
        values=values,
        errors=errors,
        point_rows=_rows(values, "sp_", village_shop.MAX_SALES_POINTS),
        link_rows=_rows(values, "link_", village_shop.MAX_SHOP_LINKS),
        shop_kinds=[(k, SHOP_KIND_LABELS[k]) for k in SHOP_KINDS],
        **_map_settings(),
    )
    return html, status


@bp.route("/village/shop", methods=["GET", "POST"])
@login_required("village")
def village_shop_page():
    village = _own_village()
    if request.method == "GET":
        return _render_shop(village, _shop_values(village), {})
    values = request.form.to_dict()
    values.pop("csrf_token", None)
    try:
        village_shop.save_shop(village.id, values, user_id=current_user().id)
    except village_shop.ShopInvalid as exc:
        return _render_shop(village, values, _messages(exc.problems), status=400)
    flash(_("Display space, sales points and online shops saved."), "success")
    return redirect(url_for("web.village_shop_page", village=village.slug))


# --- videos ----------------------------------------------------------------------------------


def _video_values(village) -> dict[str, str]:
    values: dict[str, str] = {}
    for n, video in enumerate(village.videos or []):
        item = video if isinstance(video, dict) else {"url": video}
        values.update({f"video_{n}_{key}": str(val) for key, val in item.items()})
    return values


def _stills() -> dict[int, village_shop.StillUpload]:
    out = {}
    for key, upload in request.files.items():
        number = key.removeprefix("video_").removesuffix("_upload")
        if key.endswith("_upload") and number.isdigit() and upload and upload.filename:
            out[int(number)] = village_shop.StillUpload(upload.filename, upload.read())
    return out


def _render_videos(village, values: dict[str, Any], errors: dict[str, str], status: int = 200):
    html = render_template(
        "village/shop_videos.html",
        village=village,
        values=values,
        errors=errors,
        rows=_rows(values, "video_", village_shop.MAX_VIDEOS, blank=1),
    )
    return html, status


@bp.route("/village/videos", methods=["GET", "POST"])
@login_required("village")
@upload_view("PRODUCT_UPLOAD_MAX_BYTES", PRODUCT_UPLOAD_MAX_BYTES)
def village_videos_page():
    village = _own_village()
    if request.method == "GET":
        return _render_videos(village, _video_values(village), {})
    values = request.form.to_dict()
    values.pop("csrf_token", None)
    try:
        village_shop.save_videos(village.id, values, _stills(), user_id=current_user().id)
    except village_shop.ShopInvalid as exc:
        return _render_videos(village, values, _messages(exc.problems), status=400)
    flash(_("Videos saved."), "success")
    return redirect(url_for("web.village_videos_page", village=village.slug))


# --- stored photos in pages ------------------------------------------------------------------


@bp.app_template_global()
def photo_sources(name: str) -> dict[str, Any]:
    """``src``, ``srcset``, ``width`` and ``height`` of a stored photo for an ``<img>``; the
    ``srcset`` lists its narrower copies (none for photos stored before they existed)."""
    stored = product_media.sources(name)
    if not stored:
        return {"src": url_for("web.product_image", name=name), "srcset": None}
    main, width, height = stored[-1]
    srcset = ", ".join(f"{url_for('web.product_image', name=n)} {w}w" for n, w, _h in stored)
    return {
        "src": url_for("web.product_image", name=main),
        "smallest": url_for("web.product_image", name=stored[0][0]),
        "srcset": srcset if len(stored) > 1 else None,
        "width": width,
        "height": height,
    }
