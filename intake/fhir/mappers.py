"""Pure mappers from intake's models to FHIR R4 (4.0.1) JSON-ready dicts.

No Flask, no queries: the caller loads what a mapper needs and passes it in.
Mappers read columns only (never relationships or properties unless passed
in), so they take ORM objects and SQLAlchemy Core rows alike; the bulk
export feeds them rows. Money values are ``Decimal`` with two places: write
with ``intake.fhir.ndjson.dumps`` (orjson), which keeps them as JSON numbers.

Logical ids are stable so the REST API, bulk export and bundles agree:
Patient/<patient.id>, Coverage/<coverage.id>, RelatedPerson/<coverage.id>,
Organization/payer-<payer.id>, Organization/practice, Practitioner/<provider.id>,
Encounter/<visit.id>, Claim/<visit.id>, Condition/<diagnosis.id>, Consent/<consent.id>.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from intake import vocab
from intake.fhir import systems as S
from intake.fhir.systems import FhirSettings

Resource = dict[str, Any]

DEFAULT_SETTINGS = FhirSettings()
PRACTICE_ID = "practice"
_CENTS = Decimal("0.01")

# -- small helpers ---------------------------------------------------------


def instant(value: datetime) -> str:
    """A FHIR instant in UTC (``Z``); aware datetimes only (the models store UTC)."""
    text = value.isoformat()
    if text.endswith("+00:00"):
        return text[:-6] + "Z"
    return value.astimezone(timezone.utc).isoformat()[:-6] + "Z"


def money(cents: int) -> dict[str, Any]:
    return {"value": (Decimal(cents) / 100).quantize(_CENTS), "currency": "USD"}


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _concept(system: str, code: str, display: str | None = None, text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": [_coding(system, code, display)]}
    if text:
        concept["text"] = text
    return concept


def _meta(row: Any) -> dict[str, str] | None:
    """lastUpdated from the row's updated_at; versionId from its version
    counter where the row keeps one (both change when the record does)."""
    updated = getattr(row, "updated_at", None)
    if updated is None:
        return None
    version = getattr(row, "version", None)
    meta = {"versionId": str(version)} if isinstance(version, int) else {}
    meta["lastUpdated"] = instant(updated)
    return meta


def payer_org_id(payer_id: int) -> str:
    return f"payer-{payer_id}"


# Tables built once: the per-row work in the bulk export is only lookups.
_SEX_CODES = frozenset(code for code, _ in vocab.SEX)
_RACE_LABEL = dict(vocab.RACE)
_ETHNICITY_LABEL = dict(vocab.ETHNICITY)
_LANGUAGE_LABEL = dict(vocab.LANGUAGES)
_MARITAL_LABEL = dict(vocab.MARITAL_STATUS)
_GENDER_IDENTITY_LABEL = dict(vocab.GENDER_IDENTITY)
_NULL_FLAVOR = {"ASKU": "asked but unknown", "UNK": "unknown", "OTH": "other"}
_RELATIONSHIP_LABEL = dict(vocab.SUBSCRIBER_RELATIONSHIP)


def _omb(code: str, labels: dict[str, str]) -> dict[str, str]:
    if code in _NULL_FLAVOR:
        return {"system": S.V3_NULL_FLAVOR, "code": code, "display": _NULL_FLAVOR[code]}
    return {"system": S.CDC_RACE_ETHNICITY, "code": code, "display": labels.get(code, code)}


def _race_extension(races: Sequence[str]) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"url": "ombCategory", "valueCoding": _omb(c, _RACE_LABEL)} for c in races]
    parts.append({"url": "text", "valueString": ", ".join(_RACE_LABEL.get(c, c) for c in races)})
    return {"url": S.US_CORE_RACE, "extension": parts}


def _ethnicity_extension(code: str) -> dict[str, Any]:
    return {"url": S.US_CORE_ETHNICITY, "extension": [
        {"url": "ombCategory", "valueCoding": _omb(code, _ETHNICITY_LABEL)},
        {"url": "text", "valueString": _ETHNICITY_LABEL.get(code, code)},
    ]}


def _gender_identity_extension(code: str) -> dict[str, Any]:
    label = _GENDER_IDENTITY_LABEL.get(code, code)
    if code in _NULL_FLAVOR:
        coding = {"system": S.V3_NULL_FLAVOR, "code": code, "display": _NULL_FLAVOR[code]}
    else:
        coding = {"system": S.SNOMED, "code": code, "display": label}
    return {"url": S.US_CORE_GENDER_IDENTITY,
            "valueCodeableConcept": {"coding": [coding], "text": label}}


_MR_TYPE = {"coding": [{"system": S.V2_0203, "code": "MR", "display": "Medical record number"}],
            "text": "Medical record number"}

# -- Patient ---------------------------------------------------------------


def patient_resource(patient: Any, *, mrn_system: str = S.DEFAULT_MRN_SYSTEM) -> Resource:
    """US Core-shaped Patient: MR identifier, official (+ usual) name, gender,
    birthDate, address, telecom, communication, race/ethnicity/gender identity."""
    p = patient
    given = [p.given_name, p.middle_name] if p.middle_name else [p.given_name]
    official: dict[str, Any] = {"use": "official", "family": p.family_name, "given": given}
    if p.suffix:
        official["suffix"] = [p.suffix]
    names = [official]
    if p.preferred_name:
        names.append({"use": "usual", "family": p.family_name, "given": [p.preferred_name]})
    resource: Resource = {"resourceType": "Patient", "id": str(p.id)}
    meta = _meta(p)
    if meta:
        resource["meta"] = meta
    extensions = []
    if p.races:
        extensions.append(_race_extension(p.races))
    if p.ethnicity:
        extensions.append(_ethnicity_extension(p.ethnicity))
    if p.gender_identity:
        extensions.append(_gender_identity_extension(p.gender_identity))
    if extensions:
        resource["extension"] = extensions
    resource["identifier"] = [{"use": "usual", "type": _MR_TYPE, "system": mrn_system, "value": p.mrn}]
    # A merge (services/merge.py): the survivor keeps the retired charts'
    # MRNs as old identifiers; both sides carry the link.
    merged = getattr(p, "merged_charts", None) or []
    resource["identifier"] += [{"use": "old", "type": _MR_TYPE, "system": mrn_system, "value": old.mrn}
                               for old in merged]
    resource["active"] = getattr(p, "merged_into_id", None) is None
    resource["name"] = names
    telecom = []
    if p.phone_mobile:
        telecom.append({"system": "phone", "value": p.phone_mobile, "use": "mobile"})
    if p.phone_home:
        telecom.append({"system": "phone", "value": p.phone_home, "use": "home"})
    if p.email:
        telecom.append({"system": "email", "value": p.email})
    if telecom:
        resource["telecom"] = telecom
    resource["gender"] = p.sex
    resource["birthDate"] = p.birth_date.isoformat()
    address = _address(p.address_line1, p.address_line2, p.city, p.state, p.postal_code)
    if address:
        address["use"] = "home"
        resource["address"] = [address]
    if p.marital_status:
        system = S.V3_NULL_FLAVOR if p.marital_status == "UNK" else S.V3_MARITAL
        label = _MARITAL_LABEL.get(p.marital_status, p.marital_status)
        resource["maritalStatus"] = _concept(system, p.marital_status, label, label)
    if p.emergency_name or p.emergency_phone:
        contact: dict[str, Any] = {"relationship": [{
            "coding": [{"system": S.V2_0131, "code": "C", "display": "Emergency Contact"}],
            **({"text": p.emergency_relationship} if p.emergency_relationship else {})}]}
        if p.emergency_name:
            contact["name"] = {"text": p.emergency_name}
        if p.emergency_phone:
            contact["telecom"] = [{"system": "phone", "value": p.emergency_phone}]
        resource["contact"] = [contact]
    language = p.preferred_language or "en"
    label = _LANGUAGE_LABEL.get(language, language)
    resource["communication"] = [{"language": {
        "coding": [{"system": S.BCP47, "code": language, "display": label}], "text": label},
        "preferred": True}]
    links = [{"other": {"reference": f"Patient/{old.id}"}, "type": "replaces"} for old in merged]
    if getattr(p, "merged_into_id", None) is not None:
        links.append({"other": {"reference": f"Patient/{p.merged_into_id}"}, "type": "replaced-by"})
    if links:
        resource["link"] = links
    return resource


def _address(line1: str | None, line2: str | None, city: str | None, state: str | None,
             postal_code: str | None) -> dict[str, Any] | None:
    if not (line1 or city or state or postal_code):
        return None
    address: dict[str, Any] = {}
    lines = [x for x in (line1, line2) if x]
    if lines:
        address["line"] = lines
    if city:
        address["city"] = city
    if state:
        address["state"] = state
    if postal_code:
        address["postalCode"] = postal_code
    address["country"] = "US"
    return address


# -- RelatedPerson (the subscriber who is not the patient) -------------------

# Subscriber-relationship says what the patient is to the subscriber;
# RelatedPerson.relationship says what the subscriber is to the patient.
_SUBSCRIBER_ROLE = {
    "spouse": ("SPS", "spouse"),
    "common": ("DOMPART", "domestic partner"),
    "child": ("PRN", "parent"),
    "parent": ("CHILD", "child"),
}


def related_person_resource(coverage: Any, settings: FhirSettings = DEFAULT_SETTINGS) -> Resource:
    """The policy holder of a coverage whose relationship is not ``self``."""
    c = coverage
    relationship: dict[str, Any] = {"text": "Subscriber (policy holder)"}
    role = _SUBSCRIBER_ROLE.get(c.relationship_code)
    if role:
        relationship["coding"] = [{"system": S.V3_ROLE_CODE, "code": role[0], "display": role[1]}]
    resource: Resource = {"resourceType": "RelatedPerson", "id": str(c.id)}
    if c.updated_at is not None:
        resource["meta"] = {"lastUpdated": instant(c.updated_at)}
    resource["identifier"] = [{"system": settings.system("related-person"), "value": str(c.id)}]
    resource["active"] = c.status == "active"
    resource["patient"] = {"reference": f"Patient/{c.patient_id}"}
    resource["relationship"] = [relationship]
    name: dict[str, Any] = {}
    if c.subscriber_family:
        name["family"] = c.subscriber_family
    if c.subscriber_given:
        name["given"] = [c.subscriber_given]
    if name:
        resource["name"] = [name]
    if c.subscriber_birth_date:
        resource["birthDate"] = c.subscriber_birth_date.isoformat()
    return resource


# -- Organizations and Practitioner ----------------------------------------

_PAYER_TYPE = [{"coding": [{"system": S.ORGANIZATION_TYPE, "code": "pay", "display": "Payer"}]}]
_PROVIDER_TYPE = [{"coding": [{"system": S.ORGANIZATION_TYPE, "code": "prov",
                               "display": "Healthcare Provider"}]}]
_PAYER_ID_TYPE = {"coding": [{"system": S.V2_0203, "code": "NIIP",
                              "display": "National Insurance Payor Identifier (Payor)"}],
                  "text": "Electronic payer id"}


def payer_organization_resource(payer: Any, settings: FhirSettings = DEFAULT_SETTINGS) -> Resource:
    return {
        "resourceType": "Organization",
        "id": payer_org_id(payer.id),
        "identifier": [{"type": _PAYER_ID_TYPE, "system": settings.payer_id_system,
                        "value": payer.payer_code}],
        "active": bool(payer.active),
        "type": _PAYER_TYPE,
        "name": payer.name,
    }


def practice_organization_resource(practice: Any) -> Resource:
    """The billing provider: NPI and tax id."""
    resource: Resource = {"resourceType": "Organization", "id": PRACTICE_ID}
    meta = _meta(practice)
    if meta:
        resource["meta"] = meta
    identifiers = []
    if practice.npi:
        identifiers.append({"system": S.NPI, "value": practice.npi})
    if practice.tax_id:
        identifiers.append({"type": {"coding": [{"system": S.V2_0203, "code": "TAX",
                                                 "display": "Tax ID number"}]},
                            "system": S.EIN, "value": practice.tax_id})
    if identifiers:
        resource["identifier"] = identifiers
    resource["active"] = True
    resource["type"] = _PROVIDER_TYPE
    if practice.name:
        resource["name"] = practice.name
    if practice.phone:
        resource["telecom"] = [{"system": "phone", "value": practice.phone, "use": "work"}]
    address = _address(practice.address_line1, None, practice.city, practice.state, practice.postal_code)
    if address:
        address["use"] = "work"
        resource["address"] = [address]
    return resource


def practitioner_resource(provider: Any) -> Resource:
    resource: Resource = {"resourceType": "Practitioner", "id": str(provider.id)}
    meta = _meta(provider)
    if meta:
        resource["meta"] = meta
    resource["identifier"] = [{"system": S.NPI, "value": provider.npi}]
    resource["active"] = bool(provider.active)
    name: dict[str, Any] = {"use": "official", "family": provider.family_name,
                            "given": [provider.given_name]}
    if provider.credentials:
        name["suffix"] = [provider.credentials]
    resource["name"] = [name]
    if provider.taxonomy:
        resource["qualification"] = [{"code": _concept(S.NUCC_TAXONOMY, provider.taxonomy)}]
    return resource


# -- Coverage --------------------------------------------------------------

_PAYER_KIND_TYPE = {
    "medicare": _concept(S.SOPT, "1", "MEDICARE", "Medicare"),
    "medicaid": _concept(S.SOPT, "2", "MEDICAID", "Medicaid"),
    "commercial": _concept(S.SOPT, "5", "PRIVATE HEALTH INSURANCE", "Commercial"),
    "self_pay": _concept(S.SOPT, "81", "Self-pay", "Self-pay"),
}
_MEMBER_TYPE = {"coding": [{"system": S.V2_0203, "code": "MB", "display": "Member Number"}]}
_GROUP_CLASS = {"coding": [{"system": S.COVERAGE_CLASS, "code": "group", "display": "Group"}]}
_PLAN_CLASS = {"coding": [{"system": S.COVERAGE_CLASS, "code": "plan", "display": "Plan"}]}
_COPAY = {"coding": [{"system": S.COPAY_TYPE, "code": "copay", "display": "Copay Amount"}]}
_RELATIONSHIP_CONCEPT = {code: _concept(S.SUBSCRIBER_RELATIONSHIP, code, label)
                         for code, label in vocab.SUBSCRIBER_RELATIONSHIP}


def coverage_status(coverage: Any) -> str:
    """An ended coverage is still a real one (active, with period.end);
    only one entered in error is cancelled."""
    return "cancelled" if coverage.status == "in_error" else "active"


def coverage_resource(coverage: Any, payer: Any, settings: FhirSettings = DEFAULT_SETTINGS) -> Resource:
    """A coverage; ``payer`` is its Payer (row or object: id, kind).

    Medicare member ids are MBIs (identifier system us-mbi); a self-pay
    coverage names the patient as payor."""
    c = coverage
    patient_ref = {"reference": f"Patient/{c.patient_id}"}
    resource: Resource = {"resourceType": "Coverage", "id": str(c.id)}
    if c.updated_at is not None:
        resource["meta"] = {"lastUpdated": instant(c.updated_at)}
    identifiers: list[dict[str, Any]] = []
    if c.member_id:
        identifiers.append({"type": _MEMBER_TYPE, "system": S.MBI if payer.kind == "medicare"
                            else settings.member_id_system(payer.payer_code), "value": c.member_id})
    identifiers.append({"system": settings.system("coverage"), "value": str(c.id)})
    resource["identifier"] = identifiers
    resource["status"] = coverage_status(c)
    kind_type = _PAYER_KIND_TYPE.get(payer.kind)
    if kind_type:
        resource["type"] = kind_type
    self_subscriber = c.relationship_code == "self"
    resource["subscriber"] = patient_ref if self_subscriber else {"reference": f"RelatedPerson/{c.id}"}
    if c.member_id:
        resource["subscriberId"] = c.member_id
    resource["beneficiary"] = patient_ref
    resource["relationship"] = _RELATIONSHIP_CONCEPT.get(c.relationship_code) or _concept(
        S.SUBSCRIBER_RELATIONSHIP, c.relationship_code)
    if c.effective_date or c.end_date:
        period = {}
        if c.effective_date:
            period["start"] = c.effective_date.isoformat()
        if c.end_date:
            period["end"] = c.end_date.isoformat()
        resource["period"] = period
    resource["payor"] = [patient_ref if payer.kind == "self_pay"
                         else {"reference": f"Organization/payer-{payer.id}"}]
    classes = []
    if c.group_number:
        classes.append({"type": _GROUP_CLASS, "value": c.group_number,
                        "name": c.plan_name or f"Group {c.group_number}"})
    if c.plan_name:
        classes.append({"type": _PLAN_CLASS, "value": c.plan_name, "name": c.plan_name})
    if classes:
        resource["class"] = classes
    if c.rank is not None:
        resource["order"] = c.rank
    if c.copay_cents:
        resource["costToBeneficiary"] = [{"type": _COPAY, "valueMoney": money(c.copay_cents)}]
    return resource


# -- Encounter -------------------------------------------------------------

ENCOUNTER_STATUS = {
    "scheduled": "planned",
    "arrived": "arrived",
    # Checked in at the desk is not clinical triage: still "arrived".
    "checked_in": "arrived",
    "with_provider": "in-progress",
    "checked_out": "finished",
    "cancelled": "cancelled",
    "no_show": "cancelled",
}
_AMB = {"system": S.V3_ACT_CODE, "code": "AMB", "display": "ambulatory"}
_VISIT_NUMBER = {"coding": [{"system": S.V2_0203, "code": "VN", "display": "Visit number"}],
                 "text": "Patient control number"}
_OFFICE_VISIT = {"coding": [{"system": S.SNOMED, "code": "308335008",
                             "display": "Patient encounter procedure"}], "text": "Office visit"}
_PRIMARY_PERFORMER = [{"coding": [{"system": S.V3_PARTICIPATION, "code": "PPRF",
                                   "display": "primary performer"}]}]


def encounter_resource(visit: Any, settings: FhirSettings = DEFAULT_SETTINGS) -> Resource:
    """US Core Encounter: identifier (the visit's patient control number),
    status, class, type, subject, participant, period, serviceProvider."""
    v = visit
    resource: Resource = {"resourceType": "Encounter", "id": str(v.id)}
    meta = _meta(v)
    if meta:
        resource["meta"] = meta
    resource["identifier"] = [{"type": _VISIT_NUMBER, "system": settings.pcn_system,
                               "value": vocab.patient_control_number(v.id)}]
    resource["status"] = ENCOUNTER_STATUS.get(v.state, "unknown")
    resource["class"] = _AMB
    resource["type"] = [_OFFICE_VISIT]
    resource["subject"] = {"reference": f"Patient/{v.patient_id}"}
    resource["participant"] = [{"type": _PRIMARY_PERFORMER,
                                "individual": {"reference": f"Practitioner/{v.provider_id}"}}]
    start = v.arrived_at or v.checked_in_at
    period = {"start": instant(start) if start else v.date_of_service.isoformat()}
    if v.checked_out_at:
        period["end"] = instant(v.checked_out_at)
    resource["period"] = period
    if v.reason:
        resource["reasonCode"] = [{"text": v.reason}]
    resource["serviceProvider"] = {"reference": "Organization/practice"}
    return resource


# -- Condition -------------------------------------------------------------

_ACTIVE = {"coding": [{"system": S.CONDITION_CLINICAL, "code": "active", "display": "Active"}]}
_CONFIRMED = {"coding": [{"system": S.CONDITION_VERIFICATION, "code": "confirmed", "display": "Confirmed"}]}
_ENCOUNTER_DIAGNOSIS = [{"coding": [{"system": S.CONDITION_CATEGORY, "code": "encounter-diagnosis",
                                     "display": "Encounter Diagnosis"}]}]


def condition_resource(diagnosis: Any, visit: Any, settings: FhirSettings = DEFAULT_SETTINGS) -> Resource:
    """A visit diagnosis (ICD-10-CM) as an encounter-diagnosis Condition."""
    code: dict[str, Any] = {"system": S.ICD10CM, "code": diagnosis.code}
    if diagnosis.display:
        code["display"] = diagnosis.display
    concept: dict[str, Any] = {"coding": [code]}
    if diagnosis.display:
        concept["text"] = diagnosis.display
    return {
        "resourceType": "Condition",
        "id": str(diagnosis.id),
        "identifier": [{"system": settings.system("condition"), "value": str(diagnosis.id)}],
        "clinicalStatus": _ACTIVE,
        "verificationStatus": _CONFIRMED,
        "category": _ENCOUNTER_DIAGNOSIS,
        "code": concept,
        "subject": {"reference": f"Patient/{visit.patient_id}"},
        "encounter": {"reference": f"Encounter/{visit.id}"},
        "recordedDate": visit.date_of_service.isoformat(),
    }


# -- Consent ---------------------------------------------------------------

_PATIENT_CONSENT = {"coding": [{"system": S.LOINC, "code": "59284-0", "display": "Patient Consent"}]}
_CONSENT_SCOPE = {
    "treatment": ("treatment", "Treatment"),
    # R4 has no assignment-of-benefits scope: it authorises disclosure to the
    # payer, so it is a privacy consent, said so in its category and policy.
    "financial": ("patient-privacy", "Privacy Consent"),
    "privacy": ("patient-privacy", "Privacy Consent"),
    "communication": ("patient-privacy", "Privacy Consent"),
}
_CONSENT_CATEGORY_TEXT = {"financial": "Assignment of benefits and financial responsibility",
                          "communication": "Communication preferences"}
_SIGNER_ROLE = {"parent": ("PRN", "parent"), "guardian": ("GUARD", "guardian"),
                "representative": ("POWATT", "power of attorney"), "spouse": ("SPS", "spouse"),
                "common": ("DOMPART", "domestic partner"), "child": ("CHILD", "child")}
# What each communication choice permits: a purpose the provision names.
_CHANNEL = {"sms": "Text messages (SMS)", "email": "Email", "voicemail": "Voicemail"}
_CONSENT_SIGNATURE = {"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.7",
                      "display": "Consent Signature"}


def consent_resource(consent: Any, settings: FhirSettings = DEFAULT_SETTINGS) -> Resource:
    """A consent signed at the kiosk or desk (SignedConsent), with its
    evidence: who signed and as what (performer; a contained RelatedPerson
    when not the patient), the exact text signed (sourceAttachment, with its
    SHA-1 hash) and the drawn signature (a contained Provenance whose
    signature is the PNG), and communication choices as provisions."""
    c = consent
    scope_code, scope_label = _CONSENT_SCOPE.get(c.kind, ("patient-privacy", "Privacy Consent"))
    policy_rule: dict[str, Any] = {"text": c.title}
    if c.kind == "privacy":
        policy_rule["coding"] = [{"system": S.CONSENT_POLICY, "code": "hipaa-npp",
                                  "display": "HIPAA Notice of Privacy Practices"}]
    category = [dict(_PATIENT_CONSENT)]
    if c.kind in _CONSENT_CATEGORY_TEXT:
        category = [{**_PATIENT_CONSENT, "text": _CONSENT_CATEGORY_TEXT[c.kind]}]
    patient = {"reference": f"Patient/{c.patient_id}"}
    resource: Resource = {"resourceType": "Consent", "id": str(c.id),
                          "meta": {"versionId": "1", "lastUpdated": instant(c.signed_at)}}
    contained: list[dict[str, Any]] = []
    if c.signer_relationship == "self":
        performer = patient
    else:
        role = _SIGNER_ROLE.get(c.signer_relationship)
        signer: dict[str, Any] = {"resourceType": "RelatedPerson", "id": "signer", "patient": patient,
                                  "relationship": [{"text": c.signer_relationship}]}
        if role:
            signer["relationship"] = [{"coding": [{"system": S.V3_ROLE_CODE, "code": role[0],
                                                   "display": role[1]}], "text": role[1]}]
        signer["name"] = [{"text": c.signer_name}]
        contained.append(signer)
        performer = {"reference": "#signer", "display": c.signer_name}
    signature_png = getattr(c, "signature_png", None)
    if signature_png:
        contained.append({
            "resourceType": "Provenance", "id": "signature", "target": [{"reference": "#"}],
            "recorded": instant(c.signed_at),
            "agent": [{"who": performer if performer is patient else {"reference": "#signer"}}],
            "signature": [{"type": [_CONSENT_SIGNATURE], "when": instant(c.signed_at),
                           "who": performer if performer is patient else {"reference": "#signer"},
                           "sigFormat": "image/png", "data": base64.b64encode(signature_png).decode()}]})
    if contained:
        resource["contained"] = contained
    resource["identifier"] = [{"system": settings.system("consent"), "value": str(c.id)}]
    resource["status"] = "active"
    resource["scope"] = {"coding": [{"system": S.CONSENT_SCOPE, "code": scope_code, "display": scope_label}]}
    resource["category"] = category
    resource["patient"] = patient
    resource["dateTime"] = instant(c.signed_at)
    resource["performer"] = [performer]
    resource["organization"] = [{"reference": "Organization/practice"}]
    text = (c.text or "").encode()
    resource["sourceAttachment"] = {
        "contentType": "text/plain; charset=utf-8", "language": c.language,
        "data": base64.b64encode(text).decode(),
        "hash": base64.b64encode(hashlib.sha1(text).digest()).decode(),  # noqa: S324 (FHIR says SHA-1)
        "title": f"{c.title} (version {c.text_version}, signed {c.signature_method})",
        "creation": instant(c.signed_at)}
    resource["policyRule"] = policy_rule
    resource["provision"] = _provision(c)
    return resource


def _provision(consent: Any) -> dict[str, Any]:
    """Permit what was signed; for communication, a nested deny for each
    channel the patient declined (and a permit for each one accepted)."""
    provision: dict[str, Any] = {"type": "permit"}
    if consent.kind != "communication":
        return provision
    choices = getattr(consent, "choices", None) or {}
    nested = [{"type": "permit" if choices.get(channel) else "deny",
               "action": [{"coding": [{"system": S.CONSENT_ACTION, "code": "disclose", "display": "Disclose"}],
                           "text": label}]}
              for channel, label in _CHANNEL.items() if channel in choices]
    if nested:
        provision["provision"] = nested
    return provision


# -- Claim -----------------------------------------------------------------

_PROFESSIONAL = {"coding": [{"system": S.CLAIM_TYPE, "code": "professional", "display": "Professional"}]}
_NORMAL = {"coding": [{"system": S.PROCESS_PRIORITY, "code": "normal", "display": "Normal"}]}
# CARIN BB professional: the rendering provider, principal/secondary diagnoses.
_RENDERING_ROLE = {"coding": [{"system": S.CARIN_CARE_TEAM_ROLE, "code": "rendering",
                               "display": "Rendering provider"}]}
_PRINCIPAL = {"coding": [{"system": S.CARIN_DIAGNOSIS_TYPE, "code": "principal", "display": "principal"}]}
_SECONDARY = {"coding": [{"system": S.CARIN_DIAGNOSIS_TYPE, "code": "secondary", "display": "secondary"}]}
_PCN_TYPE = {"coding": [{"system": S.CARIN_IDENTIFIER_TYPE, "code": "pat",
                         "display": "Patient Account Number"}], "text": "Patient control number"}
_REPLACES = {"coding": [{"system": S.RELATED_CLAIM_RELATIONSHIP, "code": "prior",
                         "display": "Prior Claim"}], "text": "Replaces"}


def claim_resource(claim: Any, *, hcpcs_system: str = S.HCPCS_HTTP,
                   pcn_system: str = S.DEFAULT_PCN_SYSTEM) -> Resource:
    """The professional claim as billed (a BilledClaim: see intake.models.claim).

    Everything comes from the frozen record: the payers in force on the date
    of service in their order then (the first is focal), the diagnoses, the
    lines and the amounts; later chart edits never change it. A correction
    names the claim it replaces in ``related``."""
    c = claim
    dos = c.date_of_service.isoformat()
    pos = {"coding": [{"system": S.POS, "code": c.place_of_service}]}
    encounter = [{"reference": f"Encounter/{c.visit_id}"}]
    items = []
    for n, line in enumerate(c.lines, start=1):
        system = S.CPT if line["system"] == "cpt" else hcpcs_system
        product: dict[str, Any] = {"coding": [{"system": system, "code": line["code"]}]}
        if line["display"]:
            product["coding"][0]["display"] = line["display"]
        item: dict[str, Any] = {"sequence": n, "careTeamSequence": [1]}
        if line["pointers"]:
            item["diagnosisSequence"] = list(line["pointers"])
        item["productOrService"] = product
        if line["modifiers"]:
            item["modifier"] = [{"coding": [{"system": S.CPT if m.isdigit() else hcpcs_system, "code": m}]}
                                for m in line["modifiers"]]
        item["servicedDate"] = dos
        item["encounter"] = encounter
        item["locationCodeableConcept"] = pos
        item["quantity"] = {"value": line["units"]}
        item["unitPrice"] = money(line["unit_price_cents"])
        item["net"] = money(line["unit_price_cents"] * line["units"])
        items.append(item)
    # Claim/<visit id> for the original, <visit id>-<version> for corrections
    # (computed here, not read from a property: the bulk export passes Core rows).
    resource: Resource = {"resourceType": "Claim",
                          "id": str(c.visit_id) if c.version == 1 else f"{c.visit_id}-{c.version}"}
    updated = c.updated_at or c.billed_at
    resource["meta"] = {"versionId": "1", "lastUpdated": instant(updated)}
    resource["identifier"] = [{"type": _PCN_TYPE, "system": pcn_system, "value": c.patient_control_number},
                              {"system": pcn_system + "-version",
                               "value": f"{c.patient_control_number}-{c.version}"}]
    resource["status"] = "entered-in-error" if c.status == "entered-in-error" else "active"
    resource["type"] = _PROFESSIONAL
    resource["use"] = "claim"
    resource["patient"] = {"reference": f"Patient/{c.patient_id}"}
    resource["billablePeriod"] = {"start": dos, "end": dos}
    resource["created"] = instant(c.billed_at)
    resource["provider"] = {"reference": "Organization/practice"}
    resource["priority"] = _NORMAL
    if c.replaces_id is not None and c.version > 1:
        resource["related"] = [{"claim": {"reference": f"Claim/{c.visit_id}" if c.version == 2
                                          else f"Claim/{c.visit_id}-{c.version - 1}"},
                                "relationship": _REPLACES}]
    member: dict[str, Any] = {"sequence": 1, "provider": {"reference": f"Practitioner/{c.provider_id}"},
                              "responsible": True, "role": _RENDERING_ROLE}
    rendering = getattr(c, "rendering_provider", None)
    if rendering and rendering.get("taxonomy"):
        member["qualification"] = _concept(S.NUCC_TAXONOMY, rendering["taxonomy"])
    resource["careTeam"] = [member]
    if c.diagnoses:
        resource["diagnosis"] = [
            {"sequence": d["sequence"],
             "diagnosisCodeableConcept": {"coding": [_coding(S.ICD10CM, d["code"], d["display"])]},
             "type": [_PRINCIPAL if d["sequence"] == 1 else _SECONDARY]}
            for d in c.diagnoses]
    resource["insurance"] = [{"sequence": p["order"], "focal": p["order"] == 1,
                              "coverage": {"reference": f"Coverage/{p['coverage_id']}"}}
                             for p in c.payers]
    if items:
        resource["item"] = items
    resource["total"] = money(c.total_cents)
    return resource
