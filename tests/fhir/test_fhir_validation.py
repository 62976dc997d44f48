"""Every kind of emitted resource passes both independent R4 validators (the
R4 JSON schema and @medplum/core 4.5.2), fhir.resources R4B, and our own
checks; and each validator is shown to catch what it is there for."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from intake.fhir.checks import bundle_problems, reference_problems, resolve_relative, resource_problems
from tests.fhir.strict import parse
from tests.fhir import r4_validators as V
from tests.fhir.conftest import corpus, negatives

CORPUS = corpus()
NEGATIVES = negatives()
EMITTED_TYPES = {"Patient", "RelatedPerson", "Organization", "Practitioner", "Coverage", "Encounter",
                 "Condition", "Consent", "Claim", "Bundle"}


def test_the_corpus_covers_every_emitted_type() -> None:
    types = {d["resourceType"] for d in CORPUS.values()}
    types |= {e["resource"]["resourceType"] for e in CORPUS["bundle"]["entry"]}
    assert types == EMITTED_TYPES


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_r4_json_schema(name: str) -> None:
    assert V.schema_errors(CORPUS[name]) == []


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_medplum_core(name: str, medplum: dict[str, list[dict[str, Any]]]) -> None:
    issues = medplum[name]
    assert V.medplum_errors(issues) == []
    # medplum cannot tell a urn:uuid's type; that warning is the only one allowed.
    others = [i for i in issues if 'got "urn:uuid:' not in i["details"]]
    assert others == []


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_fhir_resources_r4b(name: str) -> None:
    model = parse(CORPUS[name])
    assert model.get_resource_type() == CORPUS[name]["resourceType"]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_our_checks(name: str) -> None:
    doc = CORPUS[name]
    if doc["resourceType"] == "Bundle":
        assert bundle_problems(doc) == []
    else:
        assert resource_problems(doc) == []
        assert reference_problems(doc, resolve_relative) == []


# ---- the validators catch things --------------------------------------------

def test_gender_banana_passes_fhir_resources_but_not_the_schema_or_our_checks() -> None:
    doc = NEGATIVES["gender-banana"]
    parse(doc)  # why fhir.resources alone is not a validator
    assert any("gender" in e and "banana" in e for e in V.schema_errors(doc))
    assert any("Patient.gender 'banana'" in p for p in resource_problems(doc))


def test_empty_required_list() -> None:
    doc = NEGATIVES["claim-empty-insurance"]
    parse(doc)  # fhir.resources accepts an empty 1..* list
    assert any("insurance" in p and "empty list" in p for p in resource_problems(doc))
    assert any("0 focal" in p for p in resource_problems(doc))


def test_missing_required_element(medplum: dict[str, list[dict[str, Any]]]) -> None:
    errors = V.medplum_errors(medplum["negative:claim-no-insurance"])
    assert any("Claim.insurance" in e for e in errors)
    assert any("payor" in e for e in V.schema_errors(NEGATIVES["coverage-no-payor"]))
    assert any("Coverage.payor" in e for e in V.medplum_errors(medplum["negative:coverage-no-payor"]))
    with pytest.raises(ValidationError):
        parse(NEGATIVES["claim-no-insurance"])


def test_bad_date_caught_by_all_three(medplum: dict[str, list[dict[str, Any]]]) -> None:
    doc = NEGATIVES["patient-bad-date"]
    assert any("birthDate" in e for e in V.schema_errors(doc))
    assert V.medplum_errors(medplum["negative:patient-bad-date"])
    with pytest.raises(ValidationError):
        parse(doc)


def test_broken_and_wrong_type_references_in_a_bundle() -> None:
    import copy
    bundle = copy.deepcopy(CORPUS["bundle"])
    claim = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Claim")
    claim["patient"]["reference"] = "urn:uuid:00000000-0000-0000-0000-000000000000"
    coverage_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Coverage")
    claim["careTeam"][0]["provider"]["reference"] = coverage_url
    problems = bundle_problems(bundle)
    assert any("Claim.patient" in p and "does not resolve" in p for p in problems)
    assert any("Claim.careTeam.provider" in p and "is a Coverage" in p for p in problems)
    parse(bundle)  # fhir.resources does not look at reference targets


def test_claim_rules() -> None:
    import copy
    claim = copy.deepcopy(CORPUS["claim"])
    claim["item"][0]["diagnosisSequence"] = [1, 9]
    for ins in claim["insurance"]:
        ins["focal"] = True
    problems = resource_problems(claim)
    assert any("points to diagnosis [9]" in p for p in problems)
    assert any("2 focal insurances" in p for p in problems)


def test_npi_and_mbi() -> None:
    import copy
    practitioner = copy.deepcopy(CORPUS["practitioner"])
    practitioner["identifier"][0]["value"] = "1234567890"
    assert any("Luhn" in p for p in resource_problems(practitioner))
    coverage = copy.deepcopy(CORPUS["coverage-medicare-self"])
    coverage["subscriberId"] = coverage["identifier"][0]["value"] = "123456789A"
    problems = resource_problems(coverage)
    assert any("not a Medicare Beneficiary Identifier" in p for p in problems)
    assert any("subscriberId must be an MBI" in p for p in problems)


def test_coded_status_binding() -> None:
    import copy
    condition = copy.deepcopy(CORPUS["condition-E11.9"])
    condition["clinicalStatus"]["coding"][0]["code"] = "sort-of"
    assert any("clinicalStatus" in p for p in resource_problems(condition))
