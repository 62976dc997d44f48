"""837P files from the billing workspace and the CLI: built from the chart,
held claims kept out with their reasons, every file checked by pyx12,
recorded, downloadable again, with control numbers never reused."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timezone

import pytest

from intake.cli import cli
from intake.extensions import db
from intake.models import BillingExport, Practice, SignedConsent, X12Interchange
from intake.services import practice
from intake.x12.validate import validate_837p
from tests.conftest import X12_IN_FORCE, X12_PRACTICE

RANGE = {"x12-date_from": "2026-03-01", "x12-date_to": "2026-03-31"}


@pytest.fixture
def billing_client(client_as):
    return client_as("billing")


def sign_financial(app, patient_id):
    with app.app_context():
        db.session.add(SignedConsent(
            patient_id=patient_id, kind="financial", text_version="2026-1", language="en",
            title="Financial responsibility", text="I assign benefits.", text_sha256="0" * 64,
            signer_name="Test Signer", signer_relationship="self", signature_method="typed",
            signed_at=datetime(2026, 3, 16, 15, 0, tzinfo=timezone.utc)))
        db.session.commit()


def segments(data: bytes) -> list[list[str]]:
    return [s.strip().split("*") for s in data.decode().split("~") if s.strip()]


def test_download_837p_of_a_ready_claim(app, billing_client, billed_visit, create_patient):
    pid = create_patient()
    sign_financial(app, pid)
    vid = billed_visit(pid)
    response = billing_client.post("/billing/837p", data=RANGE)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "application/edi-x12"
    result = validate_837p(response.data.decode())
    assert result.findings == () and result.accepted
    segs = segments(response.data)
    clm = next(s for s in segs if s[0] == "CLM")
    assert clm == ["CLM", f"V{vid:07d}", "105", "", "", "11:B:1", "Y", "A", "Y", "Y"]
    assert ["HI", "ABK:E119", "ABF:I10"] in segs
    assert ["SV1", "HC:99213", "90", "UN", "1", "", "", "1:2"] in segs
    assert ["SV1", "HC:81002:QW", "15", "UN", "1", "", "", "2"] in segs
    assert ["NM1", "41", "2", "LAKESIDE FAMILY MEDICINE", "", "", "", "", "46", "ETIN12345"] in segs
    assert ["N4", "SPRINGFIELD", "IL", "627041234"] in segs
    with app.app_context():
        record = db.session.execute(db.select(BillingExport)).scalar_one()
        assert record.file_format == "x12-837p"
        assert record.sha256 == hashlib.sha256(response.data).hexdigest()
        assert [v.visit_id for v in record.visits] == [vid]
        interchange = db.session.execute(db.select(X12Interchange)).scalar_one()
        assert segs[0][13] == f"{interchange.id:09d}"
    history = billing_client.get("/billing/exports").get_data(as_text=True)
    assert f"/billing/exports/{record.id}/837p" in history
    again = billing_client.get(f"/billing/exports/{record.id}/837p")
    assert again.status_code == 200 and again.data == response.data
    assert billing_client.get("/billing/exports/999/837p").status_code == 404


def test_assignment_and_release_come_from_the_signed_consent(app, billing_client, billed_visit):
    billed_visit()  # no consent signed
    response = billing_client.post("/billing/837p", data=RANGE)
    clm = next(s for s in segments(response.data) if s[0] == "CLM")
    assert clm[7:10] == ["A", "N", "I"]


def test_dependent_patient_gets_a_2000c_loop(app, billing_client, billed_visit):
    billed_visit(relationship_code="child", subscriber_family="Wójcik", subscriber_given="Anna",
                 subscriber_birth_date=date(1982, 5, 1))
    response = billing_client.post("/billing/837p", data=RANGE)
    assert response.status_code == 200
    segs = segments(response.data)
    assert ["PAT", "19"] in segs
    assert [s[3] for s in segs if s[0] == "HL"] == ["20", "22", "23"]
    assert next(s for s in segs if s[:2] == ["NM1", "IL"])[3:5] == ["WOJCIK", "ANNA"]
    assert validate_837p(response.data.decode()).accepted


def test_held_claims_stay_out_with_reasons_and_the_rest_go(app, billing_client, billed_visit,
                                                           create_patient):
    going = billed_visit()
    # Insured from April only: nothing was in force on the March date of service,
    # so the scrubber holds it (no claim without a payer) and the file leaves it out.
    late = billed_visit(create_patient(given_name="Ada", phone_mobile="+13125550177"),
                        effective_date=date(2026, 4, 1))
    page = billing_client.get("/billing/?date_from=2026-03-01&date_to=2026-03-31").get_data(as_text=True)
    assert "No coverage was in force on 2026-03-16" in page
    response = billing_client.post("/billing/837p", data=RANGE)
    assert response.status_code == 200
    pcns = [s[1] for s in segments(response.data) if s[0] == "CLM"]
    assert pcns == [f"V{going:07d}"]
    assert f"V{late:07d}" not in response.data.decode()


def test_nothing_ready_is_a_422_in_words(app, billing_client, billed_visit):
    billed_visit(effective_date=date(2026, 4, 1))  # no payer in force on the date of service
    response = billing_client.post("/billing/837p", data=RANGE)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "No claim in this period is ready for an 837P." in page
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(X12Interchange.id))).scalar() == 0


def test_incomplete_settings_hold_the_whole_file(app, billing_client, billed_visit):
    billed_visit()
    with app.app_context():
        practice.save_practice({"submitter_etin": "", "postal_code": "62704"})
        db.session.commit()
    response = billing_client.post("/billing/837p", data=RANGE)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "lack the submitter&#39;s ETIN" in page and "ZIP+4" in page


def test_control_numbers_are_unique_and_never_reused(app, billing_client, billed_visit):
    billed_visit()
    first = billing_client.post("/billing/837p", data=RANGE)
    again = billing_client.post("/billing/837p", data=RANGE)
    assert again.status_code == 422  # already sent: not sent twice by accident
    second = billing_client.post("/billing/837p", data={**RANGE, "x12-include_sent": "y"})
    numbers = [int(segments(r.data)[0][13]) for r in (first, second)]
    assert numbers[1] > numbers[0]
    with app.app_context():  # even when the newest row is gone, its number is not handed out again
        newest = db.session.get(X12Interchange, numbers[1])
        db.session.delete(newest)
        db.session.commit()
    third = billing_client.post("/billing/837p", data={**RANGE, "x12-include_sent": "y"})
    assert int(segments(third.data)[0][13]) > numbers[1]
    segs = segments(third.data)
    assert segs[1][6] == str(int(segs[0][13])) and segs[-1][2] == segs[0][13]


def test_cli_writes_and_checks_an_837p(app, runner, billed_visit, create_user, tmp_path):
    create_user("admin", username="admin")
    billed_visit()
    output = tmp_path / "claims.x12"
    result = runner.invoke(cli, ["x12", "837p", "--output", str(output), "--from", "2026-03-01",
                                 "--to", "2026-03-31"])
    assert result.exit_code == 0, result.output
    assert "1 claim(s)" in result.output
    checked = runner.invoke(cli, ["x12", "check", str(output)])
    assert checked.exit_code == 0 and "accepted" in checked.output and "AK9*A" in checked.output
    broken = tmp_path / "broken.x12"
    broken.write_text(re.sub(r"NM1\*PR\*[^~]*~\n", "", output.read_text()))
    rejected = runner.invoke(cli, ["x12", "check", str(broken)])
    assert rejected.exit_code == 1 and "rejected" in rejected.output
    assert "Payer Name" in rejected.output
    none_left = runner.invoke(cli, ["x12", "837p", "--output", str(tmp_path / "b.x12"),
                                    "--from", "2026-03-01", "--to", "2026-03-31"])
    assert none_left.exit_code == 1 and "No claim in this period" in none_left.output


def test_practice_settings_take_the_x12_ids_with_validation(app, admin_client):
    bad = admin_client.post("/admin/practice", data={**X12_PRACTICE, "submitter_etin": "ETIN*1",
                                                     "taxonomy": "207Q"})
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "Letters, digits, spaces, dots and dashes only." in page and "ETIN*1" in page
    ok = admin_client.post("/admin/practice", data={**X12_PRACTICE, "accepts_assignment": "y"})
    assert ok.status_code == 302
    with app.app_context():
        office = db.session.get(Practice, 1)
        assert (office.submitter_etin, office.x12_receiver_id, office.taxonomy) == (
            "ETIN12345", "CLEARHOUSE", "207Q00000X")


def test_medicare_secondary_needs_its_reason_then_goes_as_cob(app, billing_client, billed_visit,
                                                               create_patient, create_coverage):
    from intake.models import Coverage
    from intake.services import FieldErrors, coverages

    pid = create_patient()
    vid = billed_visit(pid)  # commercial primary
    medicare = create_coverage(pid, kind="medicare", member_id="1EG4TE5MK73", effective_date=X12_IN_FORCE,
                               group_number=None)
    with app.app_context():  # the clerk corrects the billed claim: Medicare is its secondary
        from intake.models import Visit
        from intake.services import claims

        assert claims.bill(db.session.get(Visit, vid)).version == 2
        db.session.commit()
    page = billing_client.get("/billing/?date_from=2026-03-01&date_to=2026-03-31").get_data(as_text=True)
    assert "record why Medicare pays second" in page
    assert billing_client.post("/billing/837p", data=RANGE).status_code == 422
    with app.app_context():
        primary = db.session.get(Coverage, medicare - 1)
        with pytest.raises(FieldErrors) as refused:  # a reason only a Medicare coverage can have
            coverages.update_coverage(primary, {"payer_id": primary.payer_id, "member_id": "XYZ123456789",
                                                "medicare_secondary_type": "12"})
        assert list(refused.value.errors) == ["medicare_secondary_type"]
        db.session.rollback()
        coverage = db.session.get(Coverage, medicare)
        coverages.update_coverage(coverage, {"payer_id": coverage.payer_id, "member_id": "1EG4TE5MK73",
                                             "medicare_secondary_type": "12"})
        db.session.commit()
    response = billing_client.post("/billing/837p", data=RANGE)
    assert response.status_code == 200
    segs = segments(response.data)
    sbrs = [s for s in segs if s[0] == "SBR"]
    assert sbrs[0][1] == "P" and sbrs[1][1] == "S" and sbrs[1][5] == "12" and sbrs[1][9] == "MB"
    assert validate_837p(response.data.decode()).accepted
    assert f"V{vid:07d}" in response.data.decode()


def test_work_list_says_what_the_settings_lack(app, billing_client):
    with app.app_context():
        practice.save_practice({"name": "Lakeside Family Medicine", "npi": "1245319599"})
        db.session.commit()
    page = billing_client.get("/billing/").get_data(as_text=True)
    assert "Before an 837P can be written" in page
    assert "lack the submitter&#39;s ETIN" in page


def test_demo_practice_can_send_a_test_837p(app, runner, billing_client):
    result = runner.invoke(cli, ["demo", "--patients", "3"])
    assert result.exit_code == 0, result.output
    page = billing_client.get("/billing/").get_data(as_text=True)
    assert "Before an 837P can be written" not in page


def test_a_file_pyx12_rejects_is_never_offered(app, billing_client, billed_visit, monkeypatch):
    from intake.services import x12_export

    billed_visit()
    real = x12_export.write_837p

    def broken(*args, **kwargs):  # a writer regression: the payer loop goes missing
        return re.sub(r"NM1\*PR\*[^~]*~\n", "", real(*args, **kwargs))

    monkeypatch.setattr(x12_export, "write_837p", broken)
    response = billing_client.post("/billing/837p", data=RANGE)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "did not pass the X12 validator" in page and "Payer Name" in page
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(BillingExport.id))).scalar() == 0
        assert db.session.execute(db.select(db.func.count(X12Interchange.id))).scalar() == 0
