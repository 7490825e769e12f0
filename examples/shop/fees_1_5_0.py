"""payments 1.5.0's fee calculation: a fee per card network (new in 1.5.0).

It carries a real bug on this new code path: the table forgot American Express, so every charge
on an Amex card raises KeyError and answers 500. The bad-deploy drill ships this build on purpose.
"""

from __future__ import annotations

NETWORK_FEE_BPS = {"visa": 270, "mastercard": 280}


def network(card_number: str) -> str:
    if card_number.startswith("4"):
        return "visa"
    if card_number[:2] in {"51", "52", "53", "54", "55"}:
        return "mastercard"
    return "amex" if card_number[:2] in {"34", "37"} else "other"


def fee_cents(amount_cents: int, card_number: str) -> int:
    rate = NETWORK_FEE_BPS[network(card_number)]
    return amount_cents * rate // 10_000
