"""Coded values the forms offer and the FHIR mappers emit. Codes are the
standard ones (FHIR, HL7 v3, CDC race & ethnicity, USPS), labels are English."""

from __future__ import annotations

SEX = [  # FHIR administrative-gender
    ("female", "Female"),
    ("male", "Male"),
    ("other", "Other / X"),
    ("unknown", "Unknown"),
]

GENDER_IDENTITY = [  # US Core gender identity (SNOMED CT + null flavors)
    ("", "Not asked"),
    ("446141000124107", "Identifies as female"),
    ("446151000124109", "Identifies as male"),
    ("33791000087105", "Identifies as non-conforming / nonbinary"),
    ("OTH", "Other"),
    ("ASKU", "Asked but declined"),
]

RACE = [  # OMB categories, CDC Race & Ethnicity code system
    ("1002-5", "American Indian or Alaska Native"),
    ("2028-9", "Asian"),
    ("2054-5", "Black or African American"),
    ("2076-8", "Native Hawaiian or Other Pacific Islander"),
    ("2106-3", "White"),
    ("ASKU", "Prefer not to say"),
]

ETHNICITY = [
    ("", "Not asked"),
    ("2135-2", "Hispanic or Latino"),
    ("2186-5", "Not Hispanic or Latino"),
    ("ASKU", "Prefer not to say"),
]

MARITAL_STATUS = [  # HL7 v3 MaritalStatus
    ("", "Not asked"),
    ("S", "Never married"),
    ("M", "Married"),
    ("T", "Domestic partner"),
    ("L", "Legally separated"),
    ("D", "Divorced"),
    ("W", "Widowed"),
    ("UNK", "Unknown"),
]

# The kiosk's languages (translations in intake/translations), in the order
# the language screen lists them.
KIOSK_LANGUAGES = ("en", "es", "pl", "nl", "fr", "id", "ro")
# Language names in their own language: a reader finds their own.
LANGUAGE_ENDONYMS = {
    "en": "English", "es": "Español", "pl": "Polski", "nl": "Nederlands", "fr": "Français",
    "id": "Bahasa Indonesia", "ro": "Română", "zh": "中文", "vi": "Tiếng Việt",
    "ar": "العربية", "ru": "Русский", "ko": "한국어", "tl": "Tagalog", "pt": "Português",
    "ht": "Kreyòl ayisyen", "de": "Deutsch", "it": "Italiano", "uk": "Українська",
}
# The consents a kiosk patient signs, in the order shown (texts in
# intake/services/kiosk/consents/<kind>.toml).
CONSENT_KINDS = ("treatment", "privacy", "financial", "communication")

LANGUAGES = [  # BCP-47
    ("en", "English"),
    ("es", "Spanish"),
    ("pl", "Polish"),
    ("nl", "Dutch"),
    ("fr", "French"),
    ("id", "Indonesian"),
    ("ro", "Romanian"),
    ("zh", "Chinese"),
    ("vi", "Vietnamese"),
    ("ar", "Arabic"),
    ("ru", "Russian"),
    ("ko", "Korean"),
    ("tl", "Tagalog"),
    ("pt", "Portuguese"),
    ("ht", "Haitian Creole"),
    ("de", "German"),
    ("it", "Italian"),
    ("uk", "Ukrainian"),
]

# FHIR subscriber-relationship (http://terminology.hl7.org/CodeSystem/subscriber-relationship)
SUBSCRIBER_RELATIONSHIP = [
    ("self", "Self"),
    ("spouse", "Spouse"),
    ("common", "Common-law spouse"),
    ("child", "Child"),
    ("parent", "Parent"),
    ("injured", "Injured party"),
    ("other", "Other"),
]

PAYER_KINDS = [
    ("commercial", "Commercial"),
    ("medicare", "Medicare"),
    ("medicaid", "Medicaid"),
    ("self_pay", "Self-pay"),
]

COVERAGE_RANKS = {1: "Primary", 2: "Secondary", 3: "Tertiary"}

PAYMENT_KINDS = {"copay": "Copay", "coinsurance": "Coinsurance", "deductible": "Deductible",
                 "self_pay": "Self-pay", "prepayment": "Prepayment"}
PAYMENT_METHODS = {"cash": "Cash", "card": "Card", "check": "Check", "other": "Other"}

US_STATES = [
    ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"),
    ("CA", "California"), ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"),
    ("DC", "District of Columbia"), ("FL", "Florida"), ("GA", "Georgia"), ("HI", "Hawaii"),
    ("ID", "Idaho"), ("IL", "Illinois"), ("IN", "Indiana"), ("IA", "Iowa"),
    ("KS", "Kansas"), ("KY", "Kentucky"), ("LA", "Louisiana"), ("ME", "Maine"),
    ("MD", "Maryland"), ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"),
    ("MS", "Mississippi"), ("MO", "Missouri"), ("MT", "Montana"), ("NE", "Nebraska"),
    ("NV", "Nevada"), ("NH", "New Hampshire"), ("NJ", "New Jersey"), ("NM", "New Mexico"),
    ("NY", "New York"), ("NC", "North Carolina"), ("ND", "North Dakota"), ("OH", "Ohio"),
    ("OK", "Oklahoma"), ("OR", "Oregon"), ("PA", "Pennsylvania"), ("RI", "Rhode Island"),
    ("SC", "South Carolina"), ("SD", "South Dakota"), ("TN", "Tennessee"), ("TX", "Texas"),
    ("UT", "Utah"), ("VT", "Vermont"), ("VA", "Virginia"), ("WA", "Washington"),
    ("WV", "West Virginia"), ("WI", "Wisconsin"), ("WY", "Wyoming"),
    ("AS", "American Samoa"), ("GU", "Guam"), ("MP", "Northern Mariana Islands"),
    ("PR", "Puerto Rico"), ("VI", "U.S. Virgin Islands"),
    ("AA", "Armed Forces Americas"), ("AE", "Armed Forces Europe"), ("AP", "Armed Forces Pacific"),
]


def label(choices: list[tuple[str, str]], code: str | None) -> str:
    return dict(choices).get(code or "", code or "")

# Why Medicare pays second (X12 insurance type code, 837P SBR05): Medicare
# rejects a claim where it is not primary without one.
MEDICARE_SECONDARY_TYPES = [
    ("", "— (Medicare primary, or not Medicare)"),
    ("12", "Working aged: employer group health plan (12)"),
    ("13", "End-stage renal disease (13)"),
    ("14", "No-fault insurance, including auto (14)"),
    ("15", "Workers' compensation (15)"),
    ("16", "Public health service or other federal agency (16)"),
    ("41", "Black lung (41)"),
    ("42", "Veterans administration (42)"),
    ("43", "Disabled: large group health plan (43)"),
    ("47", "Other liability insurance (47)"),
]


def patient_control_number(visit_id: int) -> str:
    """A visit's claim number: CLM01 of its 837P and the business identifier
    of its FHIR Claim and Encounter (at most 20 characters; the same for every
    corrected version of the claim)."""
    return f"V{visit_id:07d}"
