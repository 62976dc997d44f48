from __future__ import annotations

from intake.extensions import db
from intake.models import AuditEvent, Payer, User


def test_admin_creates_a_user(app, admin_client):
    response = admin_client.post("/admin/users/new", data={
        "username": "newdesk", "role": "receptionist", "password": "twelve-chars-ok"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.execute(db.select(User).filter_by(username="newdesk")).scalar_one()


def test_admin_user_form_errors_keep_values(admin_client):
    response = admin_client.post("/admin/users/new", data={
        "username": "bad name!", "role": "billing", "password": "twelve-chars-ok"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Use letters, digits" in page and 'value="bad name!"' in page


def test_payers_are_managed(app, admin_client):
    response = admin_client.post("/admin/payers/new", data={
        "name": "Acme Health", "payer_code": "ACME1", "kind": "commercial", "active": "y"})
    assert response.status_code == 302
    clash = admin_client.post("/admin/payers/new", data={
        "name": "Other", "payer_code": "ACME1", "kind": "commercial"})
    assert clash.status_code == 422
    assert "Another payer has this payer id" in clash.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(db.select(Payer).filter_by(payer_code="ACME1")).scalar_one()


def test_audit_page_lists_chart_reads(app, admin_client, desk, create_patient):
    pid = create_patient()
    desk.get(f"/staff/patients/{pid}")
    with app.app_context():
        from intake.models import Patient
        mrn = db.session.get(Patient, pid).mrn
    page = admin_client.get(f"/admin/audit?mrn={mrn}").get_data(as_text=True)
    assert "patient.view" in page and "patient.create" in page
    assert "Wójcik" not in page  # MRNs, not names
    assert f"MRN {mrn}" in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) > 2


def test_failed_logins_are_audited(app, client):
    client.post("/login", data={"username": "ghost", "password": "whatever-it-is"})
    with app.app_context():
        event = db.session.execute(
            db.select(AuditEvent).filter_by(action="auth.login_failed")).scalar_one()
        assert event.remote_addr == "127.0.0.1"
