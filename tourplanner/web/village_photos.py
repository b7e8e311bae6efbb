"""Photos of the village and its experiences in the back-office (staff: their own village;
admins: any, ``?village=slug``, linked from the catalogue pages), the route that serves them,
and the template helpers that put the published ones on the public pages.

A refused upload comes back with what was typed and each problem next to its field, in the
page's language (the service gives codes, :data:`MESSAGES` the sentences); the file has to be
chosen again (browsers never keep it).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tourplanner.adapters.orm import Photo
from tourplanner.domain import photos as rules
from tourplanner.i18n import current_lang
from tourplanner.services import photos, product_media
from tourplanner.web import bp
from tourplanner.web.auth import current_user, login_required
from tourplanner.web.products_admin import PRODUCT_UPLOAD_MAX_BYTES, upload_view
from tourplanner.web.village import _own_village

FIELDS = ("target", "credit", "licence", "alt_vi", "alt_en")
MESSAGES = {
    "file_required": _l("Choose a photo (JPEG, PNG or WebP)."),
    "too_big": _l("This file is %(mb)s MB; a photo may be at most %(limit_mb)s MB."),
    "not_an_image": _l("This file is not a JPEG, PNG or WebP photo."),
    "too_small": _l(
        "This photo is %(width)s × %(height)s pixels; each side needs at least %(limit)s."
    ),
    "too_large": _l("This photo is %(width)s × %(height)s pixels: too large to use."),
    "damaged": _l("This file is damaged or cut off; take or export the photo again."),
    "too_many": _l("At most %(limit)s photos each for the village and for each experience."),
    "too_long": _l("At most %(limit)s characters."),
    "unknown_licence": _l("Choose one of the licences."),
    "unknown_target": _l("Choose the village or one of its experiences."),
    "alt_required": _l(
        "Describe what the photo shows, in Vietnamese or English, for visitors who cannot see it."
    ),
}
LICENCE_LABELS = {
    "cc-by-4.0": _l("CC BY 4.0: anyone may reuse it, naming the author"),
    "cc-by-sa-4.0": _l("CC BY-SA 4.0: reuse naming the author, under the same licence"),
    "cc0-1.0": _l("CC0: no rights reserved"),
    "permission": _l("Shown here with the photographer's permission only"),
}
LICENCE_SHORT = {**rules.LICENCE_SHORT, "permission": _l("used with permission")}


def _messages(problems: dict[str, rules.Problem]) -> dict[str, str]:
    out = {}
    for name, problem in problems.items():
        params = dict(problem.params)
        if problem.code == "too_big":
            params["mb"] = f"{params['size'] / 2**20:.1f}"
            params["limit_mb"] = f"{params['limit'] / 2**20:.0f}"
        out[name] = str(MESSAGES[problem.code]) % params
    return out


def _render(village, values: dict[str, Any], errors: dict[str, str], status: int = 200):
    html = render_template(
        "village/photos.html",
        village=village,
        photos=photos.village_photos(village.id),
        values=values,
        errors=errors,
        licences=list(LICENCE_LABELS.items()),
        edit_id=request.view_args.get("photo_id") if errors else None,
    )
    return html, status


def _typed() -> dict[str, str]:
    return {name: request.form.get(name, "") for name in FIELDS}


@bp.route("/village/photos", methods=["GET", "POST"])
@login_required("village")
@upload_view("PRODUCT_UPLOAD_MAX_BYTES", PRODUCT_UPLOAD_MAX_BYTES)
def village_photos():
    village = _own_village()
    if request.method == "GET":
        return _render(village, {"target": request.args.get("target", "village")}, {})
    upload = request.files.get("file")
    data = upload.read() if upload and upload.filename else None
    values = _typed()
    try:
        photo = photos.upload(village.id, values, data, user_id=current_user().id)
    except photos.PhotosInvalid as exc:
        return _render(village, values, _messages(exc.problems), status=400)
    if photo.published:
        flash(_("Photo saved; it is shown on the public pages."), "success")
    else:
        flash(
            _("Photo saved, but hidden: it is shown once its credit and licence are given."),
            "warning",
        )
    return redirect(
        url_for("web.village_photos", village=village.slug, _anchor=f"photo-{photo.id}")
    )


def _scope_id(village) -> int | None:
    return None if current_user().is_admin else village.id


@bp.post("/village/photos/<int:photo_id>")
@login_required("village")
def village_photo_update(photo_id: int):
    village = _own_village()
    try:
        photos.update(photo_id, _scope_id(village), request.form, user_id=current_user().id)
    except photos.PhotosInvalid as exc:
        errors = {f"{k}-{photo_id}": v for k, v in _messages(exc.problems).items()}
        return _render(
            village,
            {f"{k}-{photo_id}": request.form.get(k, "") for k in FIELDS} | {"target": "village"},
            errors,
            status=400,
        )
    flash(_("Photo details saved."), "success")
    return redirect(
        url_for("web.village_photos", village=village.slug, _anchor=f"photo-{photo_id}")
    )


@bp.post("/village/photos/<int:photo_id>/remove")
@login_required("village")
def village_photo_remove(photo_id: int):
    village = _own_village()
    photos.remove(photo_id, _scope_id(village), user_id=current_user().id)
    flash(_("Photo removed."), "success")
    return redirect(url_for("web.village_photos", village=village.slug))


@bp.get("/media/photos/<name>")
def village_photo_file(name: str):
    """A stored village or experience photo (content-addressed, cached for ever)."""
    return product_media.send(name, product_media.PHOTOS)


# --- the public pages ------------------------------------------------------------------------


@bp.app_template_global()
def stored_photo(photo: Photo) -> dict[str, Any]:
    """``src``, ``srcset``, sizes, alt text (and its language) and credit line of a photo."""
    stored = photos.sources(photo)
    lang = current_lang()

    def url(name: str) -> str:
        return url_for("web.village_photo_file", name=name)

    return {
        "src": url(stored[-1][0]),
        "smallest": url(stored[0][0]),
        "srcset": ", ".join(f"{url(n)} {w}w" for n, w, _h in stored) if len(stored) > 1 else None,
        "width": photo.width,
        "height": photo.height,
        "alt": photo.alt(lang),
        "alt_lang": photo.alt_lang(lang),
        "credit": photo.credit,
        "licence": str(LICENCE_SHORT.get(photo.licence or "", photo.licence or "")),
        "licence_url": rules.LICENCES.get(photo.licence or ""),
    }
