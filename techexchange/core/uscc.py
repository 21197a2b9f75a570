"""Unified social credit codes (统一社会信用代码, GB 32100-2015): check and generate."""

from __future__ import annotations

import random

from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

from techexchange.core.errors import Problem

__all__ = ["ALPHABET", "credit_code_problems", "make_credit_code", "normalise_credit_code"]

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def normalise_credit_code(raw: str) -> str:
    """Upper-case and strip spaces and dashes."""
    return uscc.compact(raw)


def credit_code_problems(raw: str, *, field: str = "credit_code") -> list[Problem]:
    """Return what is wrong with a credit code (empty list when it is valid)."""
    code = normalise_credit_code(raw or "")
    if not code:
        return [Problem("credit_code_missing", "请填写统一社会信用代码", field)]
    try:
        uscc.validate(code)
    except InvalidLength:
        return [
            Problem(
                "credit_code_length",
                f"统一社会信用代码应为18位，实际为{len(code)}位",
                field,
            )
        ]
    except InvalidChecksum:
        return [
            Problem(
                "credit_code_checksum",
                "统一社会信用代码校验码不正确（第18位）",
                field,
                {"expected": uscc.calc_check_digit(code)},
            )
        ]
    except (InvalidFormat, ValidationError):
        return [
            Problem(
                "credit_code_format",
                "统一社会信用代码含有不允许的字符（第3-8位应为行政区划代码，不使用I、O、Z、S、V）",
                field,
            )
        ]
    return []


def make_credit_code(
    rng: random.Random, *, region_code: str, authority: str = "9", kind: str = "1"
) -> str:
    """Generate a valid synthetic credit code for `region_code` (for demo data and tests)."""
    body = authority + kind + region_code[:6] + "".join(rng.choice(ALPHABET) for _ in range(9))
    return body + uscc.calc_check_digit(body)
