"""Duplicates worklist and chart merge with undo."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import ForeignKey

from intake.extensions import db
from intake.models import ChartMerge, Coverage, DuplicatePair, Patient, Visit
from intake.services import FieldErrors, merge, patients, worklist


def _pair(create_patient):
    a = create_patient(family_name="Johnson", given_name="Margaret", birth_date=date(1975, 6, 21),
                       phone_mobile="+12175550101")
    b = create_patient(family_name="Jonson", given_name="Peggy", birth_date=date(1975, 6, 21),
                       phone_mobile="+12175550101", email="peggy@example.com")
    return a, b


def test_every_pointer_at_a_patient_is_declared(app):
    """A new table pointing at patients must be moved by a merge (POINTERS)
    or stay on purpose (STAYS)."""
    declared = {(p.table, p.column) for p in merge.POINTERS} | merge.STAYS
    found = set()
    for table in db.metadata.tables.values():
        for column in table.columns:
            for fk in column.foreign_keys:
                if isinstance(fk, ForeignKey) and fk.column.table.name == "patients":
                    found.add((table.name, column.name))
    assert found <= declared, f"declare in services/merge.py: {sorted(found - declared)}"


def test_scan_lists_pairs_and_not_same_is_remembered(app, create_patient):
    a, b = _pair(create_patient)
    create_patient(family_name="Okafor", given_name="Chidi", birth_date=date(1990, 1, 2),
                   phone_mobile="+12175550177")
    with app.app_context():
        scan = worklist.request_scan(None)
        db.session.commit()  # queues the worker's job (run at once in the tests)
        db.session.refresh(scan)
        assert scan.status == "done" and scan.charts_done == 3 and scan.pairs_found == 1
        ((pair, low, high),) = worklist.open_pairs()
        assert (low.id, high.id) == (a, b)
        assert any("Jonson" in r and "Johnson" in r for r in pair.reasons)
        worklist.mark_not_same(pair.id, None)
        db.session.commit()
        worklist.request_scan(None)
        db.session.commit()
        assert worklist.open_pairs() == []
        assert db.session.scalar(db.select(db.func.count(DuplicatePair.id))) == 1


def test_merge_moves_everything_and_undo_restores_exactly(app, create_patient, create_coverage,
                                                          create_visit):
    a, b = _pair(create_patient)
    create_coverage(a)
    dup_cov = create_coverage(b)  # same payer and member id: stays on the retired chart
    other_cov = create_coverage(b, kind="medicare", member_id="1EG4TE5MK73")
    visit = create_visit(b)
    with app.app_context():
        db.session.execute(db.update(Visit).where(Visit.id == visit).values(state="checked_out"))
        db.session.commit()
        before = {pid: merge._snapshot(db.session.get(Patient, pid)) for pid in (a, b)}
        retired_mrn = db.session.get(Patient, b).mrn
        record = merge.merge_charts(a, b, {"email": "retired", "given_name": "survivor"})
        db.session.commit()
        survivor = db.session.get(Patient, a)
        assert survivor.email == "peggy@example.com"
        assert db.session.get(Patient, b).merged_into_id == a
        assert db.session.get(Visit, visit).patient_id == a
        assert db.session.get(Coverage, other_cov).patient_id == a
        assert db.session.get(Coverage, dup_cov).patient_id == b
        rows, _ = patients.search_patients(retired_mrn)
        assert [r.id for r in rows] == [a]  # the retired MRN is an alias
        assert merge.aliases(survivor) == [retired_mrn]
        with pytest.raises(FieldErrors) as refused:
            merge.merge_charts(a, b, {})
        assert "already merged" in refused.value.errors["merge"][0]

        merge.undo_merge(record.id)
        db.session.commit()
        assert {pid: merge._snapshot(db.session.get(Patient, pid)) for pid in (a, b)} == before
        assert db.session.get(Patient, b).merged_into_id is None
        assert db.session.get(Visit, visit).patient_id == b
        assert db.session.get(Coverage, other_cov).patient_id == b
        assert db.session.get(ChartMerge, record.id).undone_at is not None


def test_merge_refusals_in_words(app, create_patient, create_visit):
    a, b = _pair(create_patient)
    create_visit(b)
    with app.app_context():
        with pytest.raises(FieldErrors) as refused:
            merge.merge_charts(a, a, {})
        assert "into itself" in refused.value.errors["merge"][0]
        with pytest.raises(FieldErrors) as refused:
            merge.merge_charts(a, b, {}, versions={a: 99})
        assert "changed by someone else" in refused.value.errors["merge"][0]
        visit = db.session.scalar(db.select(Visit).where(Visit.patient_id == b))
        visit.state = "checked_in"
        db.session.commit()
        with pytest.raises(FieldErrors) as refused:
            merge.merge_charts(a, b, {})
        assert "visit in progress" in refused.value.errors["merge"][0]


def test_worklist_pages_and_merge_permission(app, desk, admin_client, create_patient):
    a, b = _pair(create_patient)
    page = desk.get("/staff/duplicates").get_data(as_text=True)
    assert "No scan yet" in page
    desk.post("/staff/duplicates/scan")
    page = desk.get("/staff/duplicates").get_data(as_text=True)
    assert "duplicate-pair" in page and "Merge…" not in page
    with app.app_context():
        pair_id = db.session.scalar(db.select(DuplicatePair.id))
    assert desk.get(f"/staff/duplicates/{pair_id}/merge").status_code == 403
    form = admin_client.get(f"/staff/duplicates/{pair_id}/merge")
    assert form.status_code == 200 and "take_given_name" in form.get_data(as_text=True)
    with app.app_context():
        versions = {p.id: p.version for p in db.session.scalars(db.select(Patient))}
    stale = admin_client.post(f"/staff/duplicates/{pair_id}/merge", data={
        "survivor": a, f"version_{a}": versions[a] + 1, f"version_{b}": versions[b]})
    assert stale.status_code == 422 and "changed by someone else" in stale.get_data(as_text=True)
    done = admin_client.post(f"/staff/duplicates/{pair_id}/merge", data={
        "survivor": a, f"version_{a}": versions[a], f"version_{b}": versions[b],
        "take_email": "retired"})
    assert done.status_code == 302
    detail = admin_client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Undo this merge" in detail
    undone = admin_client.post(done.headers["Location"]).get_data(as_text=True)
    assert "both charts are as they were" in undone
    with app.app_context():
        assert db.session.get(Patient, b).merged_into_id is None


def test_fhir_finds_the_alias_and_shows_the_link(app, client, create_patient):
    from intake.services import tokens
    from tests.fhir.r4_validators import schema_errors

    a, b = _pair(create_patient)
    with app.app_context():
        retired_mrn = db.session.get(Patient, b).mrn
        merge.merge_charts(a, b, {})
        _, token = tokens.create_token("Merge check")
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    found = client.get(f"/fhir/Patient?identifier={retired_mrn}", headers=headers).get_json()
    by_id = {e["resource"]["id"]: e["resource"] for e in found["entry"]}
    assert set(by_id) == {str(a), str(b)}
    survivor, retired = by_id[str(a)], by_id[str(b)]
    assert {"use": "old", "value": retired_mrn}.items() <= \
        next(i for i in survivor["identifier"] if i["use"] == "old").items()
    assert survivor["link"] == [{"other": {"reference": f"Patient/{b}"}, "type": "replaces"}]
    assert retired["link"] == [{"other": {"reference": f"Patient/{a}"}, "type": "replaced-by"}]
    assert retired["active"] is False
    assert schema_errors(survivor) == [] and schema_errors(retired) == []


def test_retired_chart_page_points_at_the_survivor(app, admin_client, create_patient):
    a, b = _pair(create_patient)
    with app.app_context():
        merge.merge_charts(a, b, {})
        db.session.commit()
    page = admin_client.get(f"/staff/patients/{b}").get_data(as_text=True)
    assert "merged into another chart" in page and f"/staff/patients/{a}" in page
    with app.app_context():  # retired charts have no blocking keys: never a candidate again
        from intake.models import PatientMatchKey
        assert db.session.scalar(db.select(db.func.count(PatientMatchKey.id))
                                 .where(PatientMatchKey.patient_id == b)) == 0
