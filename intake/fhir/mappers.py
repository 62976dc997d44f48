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

from collections.abc import Iterable, Sequence
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
    updated = getattr(row, "updated_at", None)
    return {"lastUpdated": instant(updated)} if updated is not None else None


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
    if p.updated_at is not None:
        resource["meta"] = {"lastUpdated": instant(p.updated_at)}
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


def related_person_resource(coverage: Any) -> Resource:
    """The policy holder of a coverage whose relationship is not ``self``."""
    c = coverage
    relationship: dict[str, Any] = {"text": "Subscriber (policy holder)"}
    role = _SUBSCRIBER_ROLE.get(c.relationship_code)
    if role:
        relationship["coding"] = [{"system": S.V3_ROLE_CODE, "code": role[0], "display": role[1]}]
    resource: Resource = {"resourceType": "RelatedPerson", "id": str(c.id)}
    if c.updated_at is not None:
        resource["meta"] = {"lastUpdated": instant(c.updated_at)}
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


def payer_organization_resource(payer: Any) -> Resource:
    return {
        "resourceType": "Organization",
        "id": payer_org_id(payer.id),
        "identifier": [{"type": _PAYER_ID_TYPE, "value": payer.payer_code}],
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


def coverage_resource(coverage: Any, payer: Any) -> Resource:
    """A coverage; ``payer`` is its Payer (row or object: id, kind).

    Medicare member ids are MBIs (identifier system us-mbi); a self-pay
    coverage names the patient as payor."""
    c = coverage
    patient_ref = {"reference": f"Patient/{c.patient_id}"}
    resource: Resource = {"resourceType": "Coverage", "id": str(c.id)}
    if c.updated_at is not None:
        resource["meta"] = {"lastUpdated": instant(c.updated_at)}
    if c.member_id:
        member: dict[str, Any] = {"type": _MEMBER_TYPE, "value": c.member_id}
        if payer.kind == "medicare":
            member["system"] = S.MBI
        resource["identifier"] = [member]
    resource["status"] = "active" if c.status == "active" else "cancelled"
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
        classes.append({"type": _GROUP_CLASS, "value": c.group_number})
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
_PRIMARY_PERFORMER = [{"coding": [{"system": S.V3_PARTICIPATION, "code": "PPRF",
                                   "display": "primary performer"}]}]


def encounter_resource(visit: Any) -> Resource:
    v = visit
    resource: Resource = {"resourceType": "Encounter", "id": str(v.id)}
    if v.updated_at is not None:
        resource["meta"] = {"lastUpdated": instant(v.updated_at)}
    resource["status"] = ENCOUNTER_STATUS.get(v.state, "unknown")
    resource["class"] = _AMB
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


def condition_resource(diagnosis: Any, visit: Any) -> Resource:
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
        "clinicalStatus": _ACTIVE,
        "verificationStatus": _CONFIRMED,
        "category": _ENCOUNTER_DIAGNOSIS,
        "code": concept,
        "subject": {"reference": f"Patient/{visit.patient_id}"},
        "encounter": {"reference": f"Encounter/{visit.id}"},
        "recordedDate": visit.date_of_service.isoformat(),
    }


# -- Consent ---------------------------------------------------------------

_PATIENT_CONSENT = [{"coding": [{"system": S.LOINC, "code": "59284-0", "display": "Patient Consent"}]}]
_CONSENT_SCOPE = {
    "treatment": ("treatment", "Treatment"),
    "financial": ("treatment", "Treatment"),
    "privacy": ("patient-privacy", "Privacy Consent"),
    "communication": ("patient-privacy", "Privacy Consent"),
}


def consent_resource(consent: Any) -> Resource:
    """A consent signed at the kiosk or desk (SignedConsent)."""
    scope_code, scope_label = _CONSENT_SCOPE.get(consent.kind, ("patient-privacy", "Privacy Consent"))
    policy_rule: dict[str, Any] = {"text": consent.title}
    if consent.kind == "privacy":
        policy_rule["coding"] = [{"system": S.CONSENT_POLICY, "code": "hipaa-npp",
                                  "display": "HIPAA Notice of Privacy Practices"}]
    resource: Resource = {
        "resourceType": "Consent",
        "id": str(consent.id),
        "status": "active",
        "scope": {"coding": [{"system": S.CONSENT_SCOPE, "code": scope_code, "display": scope_label}]},
        "category": _PATIENT_CONSENT,
        "patient": {"reference": f"Patient/{consent.patient_id}"},
        "dateTime": instant(consent.signed_at),
    }
    if consent.signer_relationship == "self":
        resource["performer"] = [{"reference": f"Patient/{consent.patient_id}"}]
    resource["organization"] = [{"reference": "Organization/practice"}]
    resource["sourceAttachment"] = {"contentType": "text/plain", "language": consent.language,
                                    "title": f"{consent.title} (version {consent.text_version})"}
    resource["policyRule"] = policy_rule
    resource["provision"] = {"type": "permit"}
    return resource


# -- Claim -----------------------------------------------------------------

_PROFESSIONAL = {"coding": [{"system": S.CLAIM_TYPE, "code": "professional", "display": "Professional"}]}
_NORMAL = {"coding": [{"system": S.PROCESS_PRIORITY, "code": "normal", "display": "Normal"}]}
_PRIMARY_ROLE = {"coding": [{"system": S.CARE_TEAM_ROLE, "code": "primary", "display": "Primary provider"}]}


def claim_resource(visit: Any, *, coverages: Iterable[Any], diagnoses: Sequence[Any] | None = None,
                   lines: Sequence[Any] | None = None,
                   hcpcs_system: str = S.HCPCS_HTTP) -> Resource:
    """The professional claim of a visit.

    ``coverages``: the patient's active coverages (primary first by rank);
    the rank-1 one (else the first) is the focal insurance. ``diagnoses`` and
    ``lines`` default to the visit's relationships; pass rows in bulk.
    """
    v = visit
    diagnoses = v.diagnoses if diagnoses is None else diagnoses
    lines = v.lines if lines is None else lines
    sequence_of = {d.id: d.sequence for d in diagnoses}
    active = sorted((c for c in coverages if c.status == "active"), key=lambda c: (c.rank or 9, c.id))
    dos = v.date_of_service.isoformat()
    pos = {"coding": [{"system": S.POS, "code": v.place_of_service}]}
    encounter = [{"reference": f"Encounter/{v.id}"}]
    items = []
    total = 0
    for n, line in enumerate(sorted(lines, key=lambda x: x.line_no), start=1):
        system = S.CPT if line.system == "cpt" else hcpcs_system
        product: dict[str, Any] = {"coding": [{"system": system, "code": line.code}]}
        if line.display:
            product["coding"][0]["display"] = line.display
        item: dict[str, Any] = {"sequence": n, "careTeamSequence": [1]}
        pointers = [sequence_of[p] for p in (line.pointer1_id, line.pointer2_id, line.pointer3_id,
                                               line.pointer4_id) if p is not None and p in sequence_of]
        if pointers:
            item["diagnosisSequence"] = pointers
        item["productOrService"] = product
        modifiers = [m for m in (line.modifier1, line.modifier2, line.modifier3, line.modifier4) if m]
        if modifiers:
            item["modifier"] = [{"coding": [{"system": S.CPT if m.isdigit() else hcpcs_system, "code": m}]}
                                for m in modifiers]
        item["servicedDate"] = dos
        item["encounter"] = encounter
        item["locationCodeableConcept"] = pos
        item["quantity"] = {"value": line.units}
        item["unitPrice"] = money(line.unit_price_cents)
        net = line.unit_price_cents * line.units
        item["net"] = money(net)
        total += net
        items.append(item)
    resource: Resource = {"resourceType": "Claim", "id": str(v.id)}
    if v.updated_at is not None:
        resource["meta"] = {"lastUpdated": instant(v.updated_at)}
    resource["status"] = "active"
    resource["type"] = _PROFESSIONAL
    resource["use"] = "claim"
    resource["patient"] = {"reference": f"Patient/{v.patient_id}"}
    resource["billablePeriod"] = {"start": dos, "end": dos}
    created = v.charges_locked_at or v.updated_at
    resource["created"] = instant(created) if created else dos
    resource["provider"] = {"reference": "Organization/practice"}
    resource["priority"] = _NORMAL
    resource["careTeam"] = [{"sequence": 1, "provider": {"reference": f"Practitioner/{v.provider_id}"},
                             "role": _PRIMARY_ROLE}]
    if diagnoses:
        resource["diagnosis"] = [
            {"sequence": d.sequence, "diagnosisCodeableConcept": {"coding": [_coding(S.ICD10CM, d.code, d.display)]}}
            for d in sorted(diagnoses, key=lambda d: d.sequence)]
    focal = next((c for c in active if c.rank == 1), active[0] if active else None)
    resource["insurance"] = [{"sequence": n, "focal": c is focal, "coverage": {"reference": f"Coverage/{c.id}"}}
                             for n, c in enumerate(active, start=1)]
    if items:
        resource["item"] = items
    resource["total"] = money(total)
    return resource
