"""The 837P writer: every file it writes passes pyx12 (an independent HIPAA
validator) with an accepting 999, and pyx12 rejects files broken on purpose."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from intake.x12 import write_837p
from intake.x12.validate import validate_837p
from tests.x12 import samples as s

GOLDEN = Path(__file__).parent / "golden"

CASES = {
    "single_claim": s.single_claim,
    "dependent_patient": s.dependent_claim,
    "medicare_secondary": s.medicare_secondary_claim,
    "replacement": s.replacement_claim,
    "twelve_diagnoses": s.twelve_diagnoses_claim,
    "four_modifiers": s.four_modifiers_claim,
}


def write(*claims, control_number: int = 17, batch_size: int = 5000) -> str:
    return write_837p(claims, settings=s.SETTINGS, billing=s.BILLING,
                      control_number=control_number, created=s.CREATED, batch_size=batch_size)


def segments(content: str) -> list[list[str]]:
    return [seg.strip().split("*") for seg in content.split("~") if seg.strip()]


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_case_passes_pyx12_with_an_accepting_999(case):
    content = write(CASES[case]())
    result = validate_837p(content)
    assert result.findings == ()
    assert result.valid and result.accepted
    assert "IK5*A" in result.ack_999 and "AK9*A*1*1*1" in result.ack_999


def test_all_cases_in_batches_of_four_pass_pyx12():
    content = write(*(make() for make in CASES.values()), batch_size=4)
    result = validate_837p(content)
    assert result.findings == () and result.accepted
    assert "AK9*A*2*2*2" in result.ack_999


def test_single_claim_matches_its_golden_file():
    assert write(s.single_claim()) == (GOLDEN / "single_claim.837").read_text()


def test_envelope_counts_and_control_numbers():
    content = write(*(make() for make in CASES.values()), control_number=4321, batch_size=4)
    segs = segments(content)
    isa = content.split("~")[0] + "~"
    assert len(isa) == 106
    assert segs[0][13] == "000004321" and segs[-1] == ["IEA", "1", "000004321"]
    assert segs[1][6] == "4321" and segs[-2] == ["GE", "2", "4321"]
    starts = [i for i, seg in enumerate(segs) if seg[0] == "ST"]
    assert [segs[i][2] for i in starts] == ["0001", "0002"]
    for start in starts:
        end = next(i for i in range(start, len(segs)) if segs[i][0] == "SE")
        assert segs[end] == ["SE", str(end - start + 1), segs[start][2]]
    assert sum(seg[0] == "CLM" for seg in segs) == 6


def test_claim_elements_carry_the_claims_own_values():
    segs = segments(write(s.replacement_claim(), s.dependent_claim()))
    clms = [seg for seg in segs if seg[0] == "CLM"]
    assert clms[0] == ["CLM", "V000004", "105", "", "", "11:B:7", "Y", "A", "Y", "Y"]
    assert ["REF", "F8", "PAYER-ICN-778899"] in segs
    # The dependent's consents were not signed: CLM08 N, CLM09 I, never constants.
    assert clms[1][8:10] == ["N", "I"]
    hl = [seg for seg in segs if seg[0] == "HL"]
    assert [seg[3] for seg in hl] == ["20", "22", "22", "23"]
    assert ["PAT", "19"] in segs
    assert ["NM1", "41", "2", "LAKESIDE FAMILY MEDICINE", "", "", "", "", "46", "ETIN12345"] in segs


def test_medicare_secondary_carries_sbr05_and_the_primary_payer():
    segs = segments(write(s.medicare_secondary_claim()))
    sbrs = [seg for seg in segs if seg[0] == "SBR"]
    assert sbrs[0][1] == "S" and sbrs[0][5] == "12" and sbrs[0][9] == "MB"
    assert sbrs[1][1] == "P" and ["AMT", "D", "60"] in segs


def test_twelve_diagnoses_and_four_modifiers():
    segs = segments(write(s.twelve_diagnoses_claim(), s.four_modifiers_claim()))
    hi = next(seg for seg in segs if seg[0] == "HI")
    assert len(hi) == 13 and hi[1] == "ABK:E119" and all(x.startswith("ABF:") for x in hi[2:])
    sv1 = [seg for seg in segs if seg[0] == "SV1"]
    assert sv1[1][7] == "12:11"
    assert sv1[2][1] == "HC:97110:GP:59:KX:GO" and sv1[2][2] == "105" and sv1[2][4] == "3"


def test_separators_and_non_ascii_never_break_a_segment():
    odd = replace(s.single_claim(), subscriber=replace(s.SUBSCRIBER, family_name="O*Brien~Ñúñez:Jr^"))
    content = write(odd)
    assert "O BRIEN NUNEZ JR" in content
    assert validate_837p(content).accepted


def test_no_claims_is_no_interchange():
    with pytest.raises(ValueError):
        write()


# ---- pyx12 can fail: files broken on purpose ----------------------------------

def _break(content: str, old: str, new: str) -> str:
    assert old in content
    return content.replace(old, new, 1)


@pytest.mark.parametrize("how", ["wrong_se_count", "payer_loop_missing", "iea_mismatch",
                                 "clm_missing", "not_x12"])
def test_pyx12_rejects_broken_files(how):
    content = write(s.single_claim())
    se = re.search(r"SE\*(\d+)\*0001", content)
    broken = {
        "wrong_se_count": lambda: content.replace(se.group(0), f"SE*{int(se.group(1)) + 1}*0001"),
        "payer_loop_missing": lambda: _break(content, "NM1*PR*2*BLUE PRAIRIE HEALTH*****PI*BPH01~\n", ""),
        "iea_mismatch": lambda: _break(content, "IEA*1*000000017", "IEA*1*000000018"),
        "clm_missing": lambda: re.sub(r"CLM\*[^~]*~\n", "", content),
        "not_x12": lambda: "this is not an interchange",
    }[how]()
    result = validate_837p(broken)
    assert not result.valid and not result.accepted
    assert result.findings
