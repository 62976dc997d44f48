"""The checks before a file is written: each problem in a clerk's words."""

from __future__ import annotations

from dataclasses import replace

import pytest

from intake.x12 import claim_problems, interchange_problems
from tests.x12 import samples as s


def codes(claim, **kw):
    return [p.code for p in claim_problems(claim, **kw)]


@pytest.mark.parametrize("make", [s.single_claim, s.dependent_claim, s.medicare_secondary_claim,
                                  s.replacement_claim, s.twelve_diagnoses_claim,
                                  s.four_modifiers_claim])
def test_the_sample_claims_have_no_problem(make):
    assert claim_problems(make()) == []


def test_pointer_outside_the_claims_diagnoses():
    claim = s.single_claim()
    bad = replace(claim, lines=(replace(claim.lines[0], pointers=(1, 3)),) + claim.lines[1:])
    problems = claim_problems(bad)
    assert [p.code for p in problems] == ["pointer_outside"]
    assert problems[0].words == "Line 1 (99213) points to a diagnosis the claim does not have (it has 2)."


def test_npi_check_digit_of_the_rendering_provider_and_the_practice():
    claim = replace(s.single_claim(), rendering=replace(s.RENDERING, npi="1234567890"))
    assert codes(claim) == ["provider_npi_invalid"]
    billing = replace(s.BILLING, npi="1245319590")
    assert "practice_npi_invalid" in [p.code for p in interchange_problems(s.SETTINGS, billing)]


def test_total_must_equal_the_lines():
    problems = claim_problems(replace(s.single_claim(), total_cents=10600))
    assert [p.words for p in problems] == [
        "The claim total ($106.00) is not the sum of its lines ($105.00)."]


def test_five_modifiers_and_five_pointers_do_not_fit():
    claim = s.four_modifiers_claim()
    line = replace(claim.lines[0], modifiers=("GP", "59", "KX", "GO", "25"), pointers=(1, 2, 1, 2, 1))
    assert codes(replace(claim, lines=(line,))) == ["too_many_modifiers", "too_many_pointers"]


def test_thirteen_diagnoses_do_not_fit():
    claim = s.twelve_diagnoses_claim()
    assert "too_many_diagnoses" in codes(replace(claim, diagnoses=claim.diagnoses + ("R05.9",)))


def test_subscriber_and_patient_must_be_complete():
    claim = replace(s.single_claim(), subscriber=replace(s.SUBSCRIBER, member_id=None, birth_date=None))
    [problem] = claim_problems(claim)
    assert problem.words == "The subscriber's member id and date of birth are missing."
    dependent = s.dependent_claim()
    bad = replace(dependent, patient=replace(dependent.patient, address=None))
    assert [p.words for p in claim_problems(bad)] == ["The patient's address is missing."]


def test_payer_id_and_medicare_secondary_type():
    assert codes(replace(s.single_claim(), payer=replace(s.PAYER, payer_id=" "))) == ["payer_id_missing"]
    assert codes(replace(s.medicare_secondary_claim(), insurance_type=None)) == ["medicare_secondary_type"]


def test_replacement_needs_the_original_reference():
    assert codes(replace(s.replacement_claim(), original_reference=None)) == ["original_missing"]


def test_codes_are_checked_for_the_date_of_service():
    def check(kind, code, day):
        return "not in force on that date." if code in {"I10", "KX"} else None

    claim = s.four_modifiers_claim()
    problems = claim_problems(claim, code_problem=check)
    assert [p.words for p in problems] == [
        "Diagnosis 2 (I10) on 11/14/2025: not in force on that date.",
        "Line 1 modifier KX: not in force on that date."]


def test_interchange_settings_must_be_complete():
    settings = replace(s.SETTINGS, submitter_etin="", contact_phone="555-0100")
    billing = replace(s.BILLING, address=replace(s.BILLING.address, postal_code="62704"))
    words = [p.words for p in interchange_problems(settings, billing)]
    assert words == [
        "The practice settings lack the submitter's ETIN (the id the clearinghouse gave the practice).",
        "The billing contact's phone needs 10 digits.",
        "The practice's ZIP code needs all nine digits (ZIP+4) on claims."]
    assert interchange_problems(s.SETTINGS, s.BILLING) == []
