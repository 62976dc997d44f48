"""Code-system and identifier-system URIs the mappers emit (DESIGN.md,
"FHIR output"), and the settings a deployment may change."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS_HTTP = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
HCPCS_HTTPS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
NPI = "http://hl7.org/fhir/sid/us-npi"
MBI = "http://hl7.org/fhir/sid/us-mbi"
EIN = "urn:oid:2.16.840.1.113883.4.4"  # US IRS employer identification number
SUBSCRIBER_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"

CDC_RACE_ETHNICITY = "urn:oid:2.16.840.1.113883.6.238"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
BCP47 = "urn:ietf:bcp:47"
NUCC_TAXONOMY = "http://nucc.org/provider-taxonomy"
SOPT = "https://nahdo.org/sopt"  # payer type (US Core Coverage.type)

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
V2_0131 = "http://terminology.hl7.org/CodeSystem/v2-0131"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_MARITAL = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"
V3_NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
V3_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
V3_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
COVERAGE_CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"
COPAY_TYPE = "http://terminology.hl7.org/CodeSystem/coverage-copay-type"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
PROCESS_PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"
CARE_TEAM_ROLE = "http://terminology.hl7.org/CodeSystem/claimcareteamrole"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
RELATED_CLAIM_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship"
CARIN_CARE_TEAM_ROLE = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimCareTeamRole"
CARIN_DIAGNOSIS_TYPE = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimDiagnosisType"
CARIN_IDENTIFIER_TYPE = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBIdentifierType"
CONSENT_ACTION = "http://terminology.hl7.org/CodeSystem/consentaction"
CONSENT_POLICY = "http://terminology.hl7.org/CodeSystem/consentpolicycodes"

US_CORE_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
US_CORE_ETHNICITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
US_CORE_GENDER_IDENTITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-genderIdentity"

DEFAULT_MRN_SYSTEM = "https://intake.example/fhir/sid/mrn"
# The visit's claim number (837P CLM01) on Claim and Encounter.
DEFAULT_PCN_SYSTEM = "https://intake.example/fhir/sid/patient-control-number"


DEFAULT_IDENTIFIER_BASE = "https://intake.example/fhir/sid"


@dataclass(frozen=True, slots=True)
class FhirSettings:
    """What differs between offices: the MRN identifier system (the practice's
    own URI or OID), which HCPCS system URI its clearinghouse expects, and the
    base URI of the practice's own identifier systems (payer ids, member ids,
    claim numbers and record ids are ``<base>/<name>``).

    Defaults (INTAKE_FHIR_MRN_SYSTEM, INTAKE_FHIR_HCPCS_SYSTEM,
    INTAKE_FHIR_IDENTIFIER_BASE): ``https://intake.example/fhir/sid/mrn``, the
    http HCPCS URI, ``https://intake.example/fhir/sid``."""

    mrn_system: str = DEFAULT_MRN_SYSTEM
    hcpcs_system: str = HCPCS_HTTP
    identifier_base: str = DEFAULT_IDENTIFIER_BASE

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> FhirSettings:
        return cls(mrn_system=config.get("INTAKE_FHIR_MRN_SYSTEM") or DEFAULT_MRN_SYSTEM,
                   hcpcs_system=config.get("INTAKE_FHIR_HCPCS_SYSTEM") or HCPCS_HTTP,
                   identifier_base=(config.get("INTAKE_FHIR_IDENTIFIER_BASE")
                                    or DEFAULT_IDENTIFIER_BASE).rstrip("/"))

    def system(self, name: str) -> str:
        """``<base>/<name>``: patient-control-number, payer-id, coverage, condition, ..."""
        return f"{self.identifier_base}/{name}"

    @property
    def pcn_system(self) -> str:
        return self.system("patient-control-number")

    @property
    def payer_id_system(self) -> str:
        return self.system("payer-id")

    def member_id_system(self, payer_code: str) -> str:
        """Member ids are unique within one payer only: one system per payer id."""
        return self.system(f"payer-id/{payer_code}/member-id")
