"""A real FHIR client (SMART on FHIR's fhirclient) reads a patient and its
coverage from a running server, through the bearer-token API."""

from __future__ import annotations

from fhirclient import client
from fhirclient.models.coverage import Coverage
from fhirclient.models.patient import Patient

from intake.extensions import db
from intake.services import tokens


def test_fhirclient_reads_patient_and_coverage(app, live_server, create_patient, create_coverage):
    pid = create_patient()
    cov = create_coverage(pid)
    with app.app_context():
        _, plain = tokens.create_token("fhirclient test")
        db.session.commit()
    smart = client.FHIRClient(settings={"app_id": "intake-test", "api_base": live_server("/fhir/")})
    smart.server.session.headers["Authorization"] = f"Bearer {plain}"
    try:
        patient = Patient.read(str(pid), smart.server)
        assert patient.name[0].family == "Wójcik" and patient.name[0].given[0] == "Łukasz"
        assert patient.birthDate.isostring == "1980-03-14"
        assert patient.gender == "male"
        search = Coverage.where(struct={"patient": f"Patient/{pid}"})
        found = list(search.perform_resources_iter(smart.server))
        assert [c.id for c in found] == [str(cov)]
        assert found[0].beneficiary.reference == f"Patient/{pid}"
        assert found[0].status == "active"
    finally:
        smart.server.session.close()
