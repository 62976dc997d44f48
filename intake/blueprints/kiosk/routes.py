"""Kiosk pages: enrollment, language, the intake steps, review, submit.

Every step posts back to itself and redirects (post/redirect/get): what was
typed is saved in the server-side draft first, valid or not, so Back, a
language change or a validation error never loses anything. Kiosk views never
read charts."""

from __future__ import annotations

import time
from typing import Any

from flask import (abort, current_app, g, make_response, redirect, render_template,
                   request, session, url_for)
from flask_babel import force_locale, get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import CombinedMultiDict, MultiDict

from intake import vocab
from intake.blueprints.kiosk import bp
from intake.blueprints.kiosk.access import (clear_device_cookie, cookie_device,
                                            kiosk_device_required, set_device_cookie)
from intake.extensions import limiter, login_manager
from intake.forms import attach_errors
from intake.forms.kiosk import (FORM_STEPS, STEP_FORMS, STEPS, EnrollForm,
                                KioskButtonForm, KioskForm)
from intake.inputs import body_limit, cards
from intake.limits import per_device
from intake.security import public
from intake.services import FieldErrors, audit, kiosk
from intake.templating import render_form

# Why the language screen is back. Shown in the language of the session that
# was cleared (the patient who pressed Start over reads it) and in English.
NOTICES = {
    "idle": _l("The form was cleared because nobody used it for a while."),
    "restart": _l("Everything was cleared. You can start again."),
    "expired": _l("This page had expired, so everything was cleared. You can start again."),
}
UPLOAD_MESSAGES = {
    "too_large": _l("That photo is too large. Please take it again."),
    "unreadable": _l("That file is not a photo we can read. Please take the photo again."),
}


# ---- every kiosk request ----------------------------------------------------

@bp.before_request
def kiosk_context() -> Any:
    # A staff sign-in in the same browser counts for nothing here.
    g._login_user = login_manager.anonymous_user()
    g.kiosk_device = cookie_device(current_app._get_current_object())
    if g.kiosk_device is None:
        return None
    audit.act_as(f"kiosk-{g.kiosk_device.id}")
    now = time.time()
    seen = session.get("seen")
    if seen and now - seen > kiosk.setting("INTAKE_KIOSK_IDLE_TIMEOUT_SECONDS") and \
            session.get("draft"):
        _wipe("idle")
    session["seen"] = now
    return None


@bp.after_request
def never_cache(response: Any) -> Any:
    # What a patient typed must not come back through the browser's history.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.errorhandler(CSRFError)
def expired_form(error: CSRFError) -> Any:
    """A page of ours always posts its token. One that no longer holds is
    usually a page left open past the idle wipe: back to the start. A post
    without any token did not come from our pages: 400, nothing touched."""
    if not request.form.get("csrf_token") and not request.headers.get("X-CSRFToken"):
        return render_template("kiosk/error.html", code=400), 400
    lang = session.get("lang")
    session.clear()
    session["notice"] = "expired"
    session["notice_lang"] = lang
    return redirect(url_for("kiosk.index"))


@bp.errorhandler(400)
@bp.errorhandler(404)
@bp.errorhandler(413)
@bp.errorhandler(429)
def kiosk_error(error: Any) -> Any:
    return render_template("kiosk/error.html", code=error.code), error.code


def _wipe(reason: str) -> None:
    """Draft and session gone; the next patient starts at the language screen, in English."""
    kiosk.discard_draft(_current_draft(), reason)
    # A second wipe in the same request (the server's idle check, then the
    # page's own) keeps the language of the session that was cleared.
    lang = session.get("lang") or session.get("notice_lang")
    session.clear()
    session["notice"] = reason
    session["notice_lang"] = lang


def _current_draft() -> Any:
    device = g.get("kiosk_device")
    if device is None:
        return None
    draft = kiosk.load_draft(session.get("draft"), device)
    if draft is None and session.get("draft"):
        session.pop("draft", None)
    return draft


def _language_choices() -> list[dict[str, str]]:
    out = []
    for code in vocab.KIOSK_LANGUAGES:
        with force_locale(code):
            prompt = gettext("Touch here to continue in English")
        out.append({"code": code, "name": vocab.LANGUAGE_ENDONYMS[code], "prompt": prompt})
    return out


def _idle_settings() -> dict[str, int]:
    return {"warn": kiosk.setting("INTAKE_KIOSK_IDLE_WARNING_SECONDS"),
            "timeout": kiosk.setting("INTAKE_KIOSK_IDLE_TIMEOUT_SECONDS")}


# ---- enrollment (for the office's administrator, on the tablet) -----------

def _enroll_limit() -> str:
    return current_app.config["INTAKE_KIOSK_ENROLL_LIMIT"]


@bp.route("/enroll", methods=["GET", "POST"])
@public
@limiter.limit(_enroll_limit, methods=["POST"])
def enroll() -> Any:
    form = EnrollForm()
    if form.validate_on_submit():
        try:
            device, token = kiosk.enroll(form.code.data)
        except FieldErrors as exc:
            attach_errors(form, exc.errors)
            # 200: the failed attempt's audit row must be committed.
            return render_template("kiosk/enroll.html", form=form, device=g.get("kiosk_device"))
        session.clear()
        response = make_response(redirect(url_for("kiosk.index")))
        set_device_cookie(response, current_app._get_current_object(), device.id, token,
                          kiosk.setting("INTAKE_KIOSK_DEVICE_COOKIE_DAYS"))
        return response
    response = make_response(render_form("kiosk/enroll.html", form, device=g.get("kiosk_device")))
    if g.get("kiosk_device") is None and request.cookies.get("intake_kiosk_device"):
        clear_device_cookie(response, current_app._get_current_object())
    return response


# ---- start: the language screen -------------------------------------------

@bp.route("/")
@kiosk_device_required
def index() -> Any:
    notice = session.pop("notice", None)
    notice_lang = session.pop("notice_lang", None)
    if notice_lang not in vocab.KIOSK_LANGUAGES:
        notice_lang = "en"
    notices = []
    if notice in NOTICES:
        for code in dict.fromkeys([notice_lang, "en"]):
            with force_locale(code):
                notices.append((code, str(NOTICES[notice])))
    draft = _current_draft()
    return render_template("kiosk/language.html", form=KioskButtonForm(), notices=notices,
                           languages=_language_choices(), draft=draft,
                           idle=_idle_settings() if draft else None)


@bp.route("/start", methods=["POST"])
@kiosk_device_required
def start() -> Any:
    if not KioskButtonForm().validate_on_submit():
        abort(400)
    language = request.form.get("language", "en")
    if language not in vocab.KIOSK_LANGUAGES:
        abort(400)
    session["lang"] = language
    draft = _current_draft()
    if draft is None:
        draft, key = kiosk.start_draft(g.kiosk_device, language)
        session["draft"] = key
    else:
        kiosk.set_language(draft, language)
    return redirect(url_for("kiosk.step", step=_first_open_step(draft)))


def _first_open_step(draft: Any) -> str:
    done = kiosk.completed_steps(draft)
    for step in FORM_STEPS:
        if step not in done:
            return step
    return "review"


@bp.route("/reset", methods=["POST"])
@kiosk_device_required
def reset() -> Any:
    """Start over, or the idle timer ran out in the page: wipe everything."""
    KioskButtonForm().validate_on_submit()
    reason = "idle" if request.form.get("reason") == "idle" else "restart"
    _wipe(reason)
    return redirect(url_for("kiosk.index"))


@bp.route("/keepalive", methods=["POST"])
@kiosk_device_required
def keepalive() -> Any:
    """The patient is typing on one page for a while: keep the draft alive."""
    if _current_draft() is None:
        return {"alive": False}, 200
    return {"alive": True}, 200


# ---- the steps ----------------------------------------------------------------

def _form(step: str, draft: Any, formdata: Any) -> KioskForm:
    # CSRFProtect checks every POST before the view; the templates carry the token.
    form = STEP_FORMS[step](formdata=formdata, meta={"csrf": False})
    if step == "insurance":
        form.set_payers(kiosk.kiosk_payers())
        form.cards_on_file = set(kiosk.draft_cards(draft))
    if step == "consents":
        form.signed_already = kiosk.draft_signatures(draft)
    return form


def _stored_form(step: str, draft: Any) -> KioskForm:
    values = kiosk.step_values(draft, step)
    data = MultiDict()
    for name, value in values.items():
        if isinstance(value, list):
            for item in value:
                data.add(name, item)
        else:
            data.add(name, value)
    form = _form(step, draft, data if values else None)
    if not values and step == "about":
        form.preferred_language.data = draft.language
    return form


def _next(step: str) -> str:
    order = [name for name, _ in STEPS]
    return order[order.index(step) + 1]


def _previous(step: str) -> str | None:
    order = [name for name, _ in STEPS]
    i = order.index(step)
    return order[i - 1] if i > 0 else None


def _save_pictures(step: str, draft: Any) -> dict[str, str]:
    """Card photos and drawn signatures posted with the step; errors by field."""
    problems: dict[str, str] = {}
    if step == "insurance":
        for slot in kiosk.CARD_SLOTS:
            upload = request.files.get(f"{slot.rsplit('_', 1)[0]}_card_{slot.rsplit('_', 1)[1]}")
            if upload and upload.filename:
                try:
                    kiosk.save_draft_card(draft, slot, upload.stream)
                except FieldErrors as exc:
                    problems[slot] = exc.errors[slot][0]
    if step == "consents":
        for kind in vocab.CONSENT_KINDS:
            posted = request.form.get(f"{kind}_signature", "")
            if posted:
                try:
                    kiosk.save_signature(draft, kind, kiosk.parse_signature(posted))
                except ValueError:
                    problems[kind] = "unreadable"
    return problems


@bp.route("/step/<step>", methods=["GET", "POST"])
@kiosk_device_required
@body_limit(cards(4))  # up to four card photos in one post
def step(step: str) -> Any:
    if step not in FORM_STEPS:
        abort(404)
    draft = _current_draft()
    if draft is None:
        return redirect(url_for("kiosk.index"))
    if request.method == "POST":
        return _post_step(step, draft)
    form = _stored_form(step, draft)
    status = 200
    check = session.pop("check", None)
    if check == step:
        form.validate()
        for _slot, code in (session.pop("upload_errors", None) or {}).items():
            form.form_errors.append(str(UPLOAD_MESSAGES.get(code, UPLOAD_MESSAGES["unreadable"])))
        status = 422
    return render_template(f"kiosk/step_{step}.html", form=form, step=step, draft=draft,
                           steps=STEPS, done=kiosk.completed_steps(draft),
                           cards=kiosk.draft_cards(draft),
                           signatures=kiosk.draft_signatures(draft),
                           consents=kiosk.CONSENTS,
                           idle=_idle_settings(), previous=_previous(step)), status


def _post_step(step: str, draft: Any) -> Any:
    form = _form(step, draft, CombinedMultiDict([request.form, request.files]))
    problems = _save_pictures(step, draft)
    clear = request.form.get("_clear", "")
    if clear.startswith("sig-"):
        kiosk.save_signature(draft, clear[4:], None)
    elif clear.startswith("card-"):
        kiosk.remove_draft_card(draft, clear[5:])
    if step == "consents":
        form.signed_already = kiosk.draft_signatures(draft)
    valid = form.validate() and not problems
    kiosk.save_step(draft, step, form.stored_values(), complete=valid)
    if step == "consents" and valid:
        kiosk.sign_consents(draft, form.signer_name.data, form.signer_relationship.data,
                            form.typed_names(), form.choices())

    language = request.form.get("_language")
    if language in vocab.KIOSK_LANGUAGES:
        kiosk.set_language(draft, language)
        session["lang"] = language
        return redirect(url_for("kiosk.step", step=step))
    if clear:
        return redirect(url_for("kiosk.step", step=step))
    if request.form.get("_nav") == "back":
        previous = _previous(step)
        return redirect(url_for("kiosk.step", step=previous) if previous
                        else url_for("kiosk.index"))
    if not valid:
        session["check"] = step
        if problems:
            session["upload_errors"] = {k: v for k, v in problems.items()
                                        if k in kiosk.CARD_SLOTS}
        return redirect(url_for("kiosk.step", step=step), code=303)
    following = _next(step)
    return redirect(url_for("kiosk.review") if following == "review"
                    else url_for("kiosk.step", step=following))


# ---- review and submit ------------------------------------------------------

def _validated(draft: Any) -> dict[str, KioskForm] | str:
    """Every step validated again from the draft; else the first step to fix."""
    forms = {}
    done = kiosk.completed_steps(draft)
    for step in FORM_STEPS:
        form = _stored_form(step, draft)
        if step not in done or not form.validate():
            return step
        forms[step] = form
    return forms


def _cleaned(forms: dict[str, KioskForm]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(patient, insurance) from the validated step forms."""
    patient = {**forms["about"].cleaned(), **forms["contact"].cleaned(),
               **forms["emergency"].cleaned()}
    return patient, forms["insurance"].cleaned()


@bp.route("/review", methods=["GET", "POST"])
@kiosk_device_required
def review() -> Any:
    draft = _current_draft()
    if draft is None:
        return redirect(url_for("kiosk.index"))
    if request.method == "POST":
        KioskButtonForm().validate_on_submit()
        language = request.form.get("_language")
        if language in vocab.KIOSK_LANGUAGES:
            kiosk.set_language(draft, language)
            session["lang"] = language
        elif request.form.get("_nav") == "back":
            return redirect(url_for("kiosk.step", step=FORM_STEPS[-1]))
        return redirect(url_for("kiosk.review"))
    forms = _validated(draft)
    if isinstance(forms, str):
        session["check"] = forms
        return redirect(url_for("kiosk.step", step=forms), code=303)
    return render_template("kiosk/review.html", forms=forms, form=KioskButtonForm(), draft=draft,
                           step="review", steps=STEPS, done=kiosk.completed_steps(draft),
                           cards=kiosk.draft_cards(draft), idle=_idle_settings(),
                           signed=(draft.data or {}).get("signed") or {},
                           consents=kiosk.CONSENTS,
                           payers={str(p.id): p.name for p in kiosk.kiosk_payers()})


@bp.route("/submit", methods=["POST"])
@kiosk_device_required
@per_device("INTAKE_KIOSK_SUBMIT_LIMIT")  # a copied device cookie cannot flood the queue
def submit() -> Any:
    # CSRFProtect has checked the token before the view, as on every POST.
    draft = _current_draft()  # locked: a second Send of it waits, then finds it gone
    if draft is None:
        return redirect(url_for("kiosk.index"))
    forms = _validated(draft)
    if isinstance(forms, str):
        session["check"] = forms
        return redirect(url_for("kiosk.step", step=forms), code=303)
    try:
        kiosk.submit(draft, *_cleaned(forms))
    except FieldErrors:
        session["check"] = "consents"
        return redirect(url_for("kiosk.step", step="consents"), code=303)
    lang = session.get("lang")
    session.clear()
    session["thanks_lang"] = lang
    return redirect(url_for("kiosk.done"))


@bp.route("/done")
@kiosk_device_required
def done() -> Any:
    """Thank you, in the patient's language; nothing of what they entered."""
    lang = session.pop("thanks_lang", None)
    if lang not in vocab.KIOSK_LANGUAGES:
        return redirect(url_for("kiosk.index"))
    with force_locale(lang):
        return render_template("kiosk/done.html", form=KioskButtonForm(),
                               seconds=kiosk.setting("INTAKE_KIOSK_DONE_SECONDS"))


@bp.route("/picture/<key>")
@kiosk_device_required
def picture(key: str) -> Any:
    """A photo or signature of the current draft (the patient's own, while typing)."""
    draft = _current_draft()
    found = kiosk.draft_picture(draft, key) if draft is not None else None
    if found is None:
        abort(404)
    body, mimetype = found
    response = make_response(body)
    response.headers["Content-Type"] = mimetype
    return response


def _choice_label(field: Any) -> str:
    """The label(s) of what was chosen in a select, radio or checkbox field."""
    chosen = field.data if isinstance(field.data, list) else [field.data]
    labels = [str(c.label) for c in field.choices or [] if c.value in chosen and c.value != ""]
    return ", ".join(labels)


@bp.context_processor
def kiosk_template_values() -> dict[str, Any]:
    locale = get_locale()
    return {"kiosk_lang": locale.language if locale is not None else "en",
            "kiosk_languages": [(code, vocab.LANGUAGE_ENDONYMS[code]) for code in vocab.KIOSK_LANGUAGES],
            "choice_label": _choice_label}
