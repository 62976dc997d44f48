"""Every form, fuzzed with hostile text (issue 7): unicode with astral
characters and emoji, NUL, very long strings, right-to-left override,
HTML/JS and SQL fragments.

For every example: no server error; the raw payload never appears unescaped
in the page (nor in the page a success redirects to); on a validation error
the typed value comes back, escaped, in its field; and a refused post
changes nothing in the database.

Each form is one test; hypothesis runs inside it against one app and one
set of clients (no function-scoped fixture is shared across examples by
hypothesis itself), and each example compares the database before and after
its own request."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import text

from intake.extensions import db
from tests.conftest import FY2026_DAY, TEST_PASSWORD, payer_id

EXAMPLES = 20

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "'; DROP TABLE patients;--",
    "' OR '1'='1' --",
    "1); DELETE FROM payments; --",
    "\u202eRLO gnp.exe",
    "Zo\u00eb \U0001F600\U0001F3E5 \U0001D518\U0001D52B\U0001D526 \u0645\u0631\u062d\u0628\u0627",
    "a\x00b",
    "\x00",
    "{{ 7*7 }}{% raw %}",
    "%s%n%x",
    "../../../etc/passwd",
    "javascript:alert(1)",
    "A" * 5000,
    "\U0001F4A9" * 300,
    "\ufeff\u200b\u200d",
    "²²²²²²²²²²",
    "99999999999999999999999",
    "-1",
]

payloads = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(min_size=1, max_size=40),
    st.builds(lambda a, b, c: a + b + c, st.text(max_size=8), st.sampled_from(HOSTILE),
              st.text(max_size=8)),
    st.text(alphabet=st.characters(min_codepoint=0x10000, max_codepoint=0x1FFFF),
            min_size=1, max_size=20),
)

TAG = re.compile(r"<[A-Za-z/!]")
# Tables a refused post must leave alone (audit rows, staff sessions and
# kiosk drafts legitimately change on any request).
VOLATILE = {"audit_events", "staff_sessions", "kiosk_drafts", "alembic_version", "users",
            "api_tokens", "kiosk_devices"}


def fingerprint(app: Any) -> dict[str, str]:
    """A digest of every row of every table that holds patient or office data."""
    out = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            if table.name in VOLATILE:
                continue
            rows = db.session.execute(text(f"SELECT * FROM {table.name}")).all()
            out[table.name] = hashlib.sha256(
                repr(sorted(repr(tuple(r)) for r in rows)).encode()).hexdigest()
        db.session.remove()
    return out


def is_markup(value: str) -> bool:
    return bool(TAG.search(value))


def kept_forms(value: str) -> list[str]:
    """How a typed value may legitimately come back: as typed, trimmed, NFC."""
    v = value.replace("\x00", "")
    forms = {v, v.strip(), unicodedata.normalize("NFC", v.strip())}
    return [str(escape(f)) for f in forms if f]


@dataclass
class World:
    app: Any
    clients: dict[str, Any]
    ids: dict[str, Any]
    n: list[int] = field(default_factory=lambda: [0])

    def submission(self) -> int:
        """A pending kiosk submission, made the first time a case needs one."""
        from tests.kiosk.factories import submit_intake

        if "submission" not in self.ids:
            self.ids["submission"] = submit_intake(self.app)
        return self.ids["submission"]

    def unique(self) -> str:
        """Letters only, different every call (person names allow no digits)."""
        self.n[0] += 1
        num, out = self.n[0], ""
        while num:
            num, r = divmod(num, 26)
            out += "abcdefghijklmnopqrstuvwxyz"[r]
        return "Fuzz" + out


@dataclass
class Case:
    name: str
    client: str
    url: Callable[[World], str]
    base: Callable[[World], dict[str, Any]]
    fields: tuple[str, ...]
    kept_status: tuple[int, ...] = (422,)
    not_kept: tuple[str, ...] = ()  # passwords and choices are not typed values
    follow: bool = True  # GET a redirect's target and check it too
    success: tuple[int, ...] = (302, 303)


def _patient_base(w: World) -> dict[str, Any]:
    return {"family_name": "Fuzzer", "given_name": w.unique(), "birth_date": "1980-01-02",
            "sex": "female", "preferred_language": "en", "confirm_new": "y"}


PATIENT_FIELDS = ("family_name", "given_name", "middle_name", "suffix", "preferred_name",
                  "birth_date", "address_line1", "address_line2", "city", "state",
                  "postal_code", "phone_mobile", "phone_home", "email",
                  "emergency_name", "emergency_relationship", "emergency_phone", "sex",
                  "races", "gender_identity")
CHOICES = ("state", "sex", "races", "gender_identity", "role", "kind", "payer_id",
           "relationship_code", "file_format", "default_pos", "place_of_service",
           "provider_id", "method", "visit_id", "rank", "side")

CASES = [
    Case("register patient", "desk", lambda w: "/staff/patients/new", _patient_base,
         PATIENT_FIELDS, not_kept=CHOICES),
    Case("edit patient", "desk", lambda w: f"/staff/patients/{w.ids['patient']}/edit",
         _patient_base, PATIENT_FIELDS, not_kept=CHOICES),
    Case("duplicate probe", "desk", lambda w: "/staff/patients/duplicates", _patient_base,
         PATIENT_FIELDS, kept_status=(), success=()),
    Case("coverage", "desk", lambda w: f"/staff/patients/{w.ids['patient']}/coverages/new",
         lambda w: {"payer_id": w.ids["payer"], "rank": "3", "member_id": "XYZ123",
                    "relationship_code": "self"},
         ("member_id", "group_number", "plan_name", "effective_date", "end_date", "copay",
          "subscriber_family", "subscriber_given", "subscriber_birth_date",
          "relationship_code", "payer_id"), not_kept=CHOICES),
    Case("edit coverage", "desk",
         lambda w: f"/staff/patients/{w.ids['patient']}/coverages/{w.ids['coverage']}/edit",
         lambda w: {"payer_id": w.ids["payer"], "member_id": "XYZ123",
                    "relationship_code": "self"},
         ("member_id", "group_number", "plan_name", "copay", "subscriber_family"),
         not_kept=CHOICES),
    Case("end coverage", "desk",
         lambda w: f"/staff/patients/{w.ids['patient']}/coverages/{w.ids['coverage2']}/end",
         lambda w: {}, ("end_date",)),
    Case("visit", "desk", lambda w: f"/staff/patients/{w.ids['patient']}/visits/new",
         lambda w: {"date_of_service": FY2026_DAY.isoformat(), "provider_id": w.ids["provider"],
                    "place_of_service": "11", "reason": "Checkup"},
         ("reason", "date_of_service", "provider_id", "place_of_service"), not_kept=CHOICES),
    Case("diagnosis", "desk", lambda w: f"/staff/visits/{w.ids['visit']}/diagnoses",
         lambda w: {"code": "E11.9"}, ("code",)),
    Case("charge line", "desk", lambda w: f"/staff/visits/{w.ids['visit']}/lines",
         lambda w: {"code": "99213", "units": "1", "pointers": "1"},
         ("code", "modifier1", "modifier2", "units", "amount", "pointers")),
    Case("board move", "desk", lambda w: f"/staff/visits/{w.ids['visit2']}/move",
         lambda w: {"to_state": "arrived", "version": "1", "back": "board"},
         ("to_state", "version", "back"), kept_status=()),
    Case("payment", "desk", lambda w: f"/staff/patients/{w.ids['patient']}/payments/new",
         lambda w: {"visit_id": "0", "kind": "prepayment", "method": "cash", "amount": "10.00"},
         ("amount", "check_number", "note", "kind", "method", "visit_id"), not_kept=CHOICES),
    # A fresh payment each time: a voided one shows no void form to keep values in.
    Case("void", "desk", lambda w: f"/staff/payments/{w.ids['new_payment']()}/void",
         lambda w: {"reason": "Entered twice"}, ("reason",)),
    Case("search", "desk", lambda w: "/staff/", lambda w: {"q": "fuzzer"}, ("q",),
         kept_status=(200, 422), success=()),
    Case("login", "anon", lambda w: "/login",
         lambda w: {"username": "nobody", "password": "wrong-password"},
         ("username", "password"), kept_status=(200, 422), not_kept=("password",)),
    Case("change password", "billing", lambda w: "/account/password",
         lambda w: {"current": "wrong-one", "new": "x" * 12, "confirm": "x" * 12},
         ("current", "new", "confirm"), not_kept=("current", "new", "confirm")),
    Case("admin user", "admin", lambda w: "/admin/users/new",
         lambda w: {"username": w.unique().lower(), "role": "billing",
                    "password": "long-enough-password"},
         ("username", "password", "role"), not_kept=("password", "role")),
    Case("payer", "admin", lambda w: "/admin/payers/new",
         lambda w: {"name": "Fuzz Health", "payer_code": w.unique()[:20], "kind": "commercial",
                    "active": "y"}, ("name", "payer_code", "kind"), not_kept=CHOICES),
    Case("provider", "admin", lambda w: "/admin/providers/new",
         lambda w: {"family_name": "Fuzz", "given_name": w.unique(), "npi": "1234567893",
                    "taxonomy": "207Q00000X", "active": "y"},
         ("family_name", "given_name", "credentials", "npi", "taxonomy")),
    Case("fee", "admin", lambda w: "/admin/fees",
         lambda w: {"code": "99214", "label": "Office visit", "price": "100.00"},
         ("code", "label", "price")),
    Case("practice", "admin", lambda w: "/admin/practice",
         lambda w: {"name": "Fuzz Family Practice", "default_pos": "11"},
         ("name", "address_line1", "city", "postal_code", "phone", "npi", "tax_id", "state",
          "default_pos"), not_kept=CHOICES),
    Case("kiosk device", "admin", lambda w: "/admin/kiosks", lambda w: {"name": "Tablet"},
         ("name",), success=(200, 302)),
    Case("billing export", "billing", lambda w: "/billing/export",
         lambda w: {"date_from": "2025-11-01", "date_to": "2025-11-30", "payer_id": "0",
                    "file_format": "bundle"},
         ("date_from", "date_to", "payer_id", "file_format"), not_kept=CHOICES,
         success=(200,)),
    Case("kiosk reject", "desk", lambda w: f"/staff/kiosk/{w.submission()}/reject",
         lambda w: {"reason": ""}, ("reason",)),
    Case("kiosk merge target", "desk", lambda w: f"/staff/kiosk/{w.submission()}/merge",
         lambda w: {"mrn": "0000000000"}, ("mrn",)),
    Case("kiosk enroll", "anon", lambda w: "/kiosk/enroll", lambda w: {"code": "NOPE"},
         ("code",), kept_status=(200, 422)),
]


@pytest.fixture
def world(app, client_as, create_patient, create_coverage, create_provider, create_visit,
          create_user):
    from intake.models import Patient, Visit
    from intake.services import charges, payments, practice

    patient = create_patient()
    coverage = create_coverage(patient)
    coverage2 = create_coverage(patient, group_number="G-2")
    provider = create_provider()
    visit = create_visit(patient, day=FY2026_DAY, provider_id=provider)
    visit2 = create_visit(patient, provider_id=provider)
    staff_id, _ = create_user("receptionist")
    with app.app_context():
        v = db.session.get(Visit, visit)
        charges.add_diagnosis(v, "E11.9")
        practice.save_fee("99213", 12000, "Office visit")
        payment = payments.record_payment(db.session.get(Patient, patient), {
            "kind": "prepayment", "method": "cash", "amount_cents": 1000}, received_by_id=staff_id)
        db.session.commit()
        payment_id = payment.id

    def new_payment() -> int:
        with app.app_context():
            made = payments.record_payment(db.session.get(Patient, patient), {
                "kind": "prepayment", "method": "cash", "amount_cents": 500},
                received_by_id=staff_id)
            db.session.commit()
            return made.id

    ids = {"new_payment": new_payment, "patient": patient, "coverage": coverage,
           "coverage2": coverage2,
           "provider": provider, "visit": visit, "visit2": visit2, "payment": payment_id,
           "payer": payer_id(app)}
    clients = {"desk": client_as("receptionist"), "admin": client_as("admin"),
               "billing": client_as("billing"), "anon": app.test_client()}
    return World(app, clients, ids)


def check_response(w: World, case: Case, fuzzed: str, value: str, response: Any,
                   before: dict[str, str]) -> None:
    where = f"{case.name}: {fuzzed}={value!r:.80}"
    assert response.status_code < 500, where
    body = response.get_data(as_text=True)
    clean = value.replace("\x00", "")
    if is_markup(clean):
        assert clean not in body, f"unescaped in the response: {where}"
    if response.status_code in case.success:
        if case.follow and response.status_code in (302, 303):
            target = w.clients[case.client].get(response.headers["Location"])
            assert target.status_code < 500, where
            if is_markup(clean):
                assert clean not in target.get_data(as_text=True), f"unescaped after save: {where}"
        return
    if response.status_code in case.kept_status and fuzzed not in case.not_kept \
            and clean.strip():
        assert any(k in body for k in kept_forms(value)), f"typed value lost: {where}"
    assert fingerprint(w.app) == before, f"half-saved: {where}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_form_fuzz(world: World, case: Case) -> None:
    client = world.clients[case.client]

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(fuzzed=st.sampled_from(case.fields), value=payloads)
    def run(fuzzed: str, value: str) -> None:
        url, data = case.url(world), {**case.base(world), fuzzed: value}
        before = fingerprint(world.app)
        response = client.post(url, data=data)
        check_response(world, case, fuzzed, value, response, before)

    run()


# ---- the kiosk's steps -----------------------------------------------------------

KIOSK_STEPS = {
    "about": ({"given_name": "Zoe", "family_name": "Nunes", "birth_date-month": "7",
               "birth_date-day": "9", "birth_date-year": "1985",
               "sex": "female", "preferred_language": "en"},
              ("given_name", "middle_name", "family_name", "preferred_name", "birth_date-day",
               "birth_date-month", "birth_date-year",
               "sex", "preferred_language", "races", "ethnicity")),
    "contact": ({"address_line1": "18 Synthetic Way", "city": "Evanston", "state": "IL",
                 "postal_code": "60201", "phone_mobile": "(847) 555-0111"},
                ("address_line1", "address_line2", "city", "state", "postal_code",
                 "phone_mobile", "phone_home", "email")),
    "emergency": ({"emergency_name": "Ana Nunes", "emergency_relationship": "sister",
                   "emergency_phone": "847-555-0112"},
                  ("emergency_name", "emergency_relationship", "emergency_phone")),
    "insurance": ({"has_insurance": "yes", "primary_member_id": "XKZ123456789",
                   "primary_relationship_code": "spouse", "primary_subscriber_given": "Ana",
                   "primary_subscriber_family": "Nunes",
                   "primary_subscriber_birth_date-month": "1",
                   "primary_subscriber_birth_date-day": "2",
                   "primary_subscriber_birth_date-year": "1980"},
                  ("primary_member_id", "primary_group_number", "primary_subscriber_given",
                   "primary_subscriber_family", "primary_subscriber_birth_date-day",
                   "primary_subscriber_birth_date-year",
                   "primary_payer_id", "has_insurance", "primary_relationship_code")),
    "consents": ({"signer_name": "Zoe Nunes", "signer_relationship": "self",
                  "privacy_typed": "Zoe Nunes", "financial_typed": "Zoe Nunes",
                  "communication_typed": "Zoe Nunes", "treatment_typed": "Zoe Nunes"},
                 ("signer_name", "treatment_typed", "privacy_typed", "treatment_signature",
                  "signer_relationship", "_clear", "_language", "_nav")),
}
KIOSK_CHOICES = ("sex", "birth_date-month", "preferred_language", "races", "ethnicity", "state", "has_insurance",
                 "primary_payer_id", "primary_relationship_code", "signer_relationship",
                 "treatment_signature", "_clear", "_language", "_nav")


@pytest.mark.parametrize("step", list(KIOSK_STEPS))
def test_kiosk_step_fuzz(app, step: str) -> None:
    from tests.kiosk.factories import commercial_payer, enrolled_client

    tablet = enrolled_client(app)
    assert tablet.post("/kiosk/start", data={"language": "en"}).status_code == 302
    base, fields = KIOSK_STEPS[step]
    if step == "insurance":
        base = {**base, "primary_payer_id": str(commercial_payer(app))}

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(fuzzed=st.sampled_from(fields), value=payloads)
    def run(fuzzed: str, value: str) -> None:
        where = f"kiosk {step}: {fuzzed}={value!r:.80}"
        before = fingerprint(app)
        posted = tablet.post(f"/kiosk/step/{step}", data={**base, fuzzed: value})
        assert posted.status_code < 500, where
        assert posted.status_code in (302, 303, 400), where
        page = tablet.get(f"/kiosk/step/{step}")
        assert page.status_code in (200, 422), where
        body = page.get_data(as_text=True)
        clean = value.replace("\x00", "")
        if is_markup(clean):
            assert clean not in body, f"unescaped: {where}"
        if page.status_code == 422 and fuzzed not in KIOSK_CHOICES and clean.strip() \
                and not (fuzzed.startswith(("birth_date-", "primary_subscriber_birth_date-"))
                         and ("-" in clean or len(clean.strip()) > 20 or clean.strip().isdigit())):
            assert any(k in body for k in kept_forms(value)), f"typed value lost: {where}"
        # A step saves only the draft: no submission, chart or coverage appears.
        assert fingerprint(app) == before, f"half-saved: {where}"
        review = tablet.get("/kiosk/review")
        assert review.status_code < 500, where
        if is_markup(clean):
            assert clean not in review.get_data(as_text=True), f"unescaped on review: {where}"

    run()


def test_login_form_keeps_password_out_of_the_page(app) -> None:
    """The one field that must NOT be kept: a typed password never comes back."""
    client = app.test_client()
    secret = "<b>" + TEST_PASSWORD + "-typed"
    body = client.post("/login", data={"username": "x", "password": secret}).get_data(
        as_text=True)
    assert secret not in body and str(escape(secret)) not in body
