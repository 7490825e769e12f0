"""payments 1.4.2's fee calculation: a flat processing fee, the same for every card network."""

from __future__ import annotations

PROCESSING_FEE_BPS = 290  # 2.9%


def fee_cents(amount_cents: int, card_number: str) -> int:
    return amount_cents * PROCESSING_FEE_BPS // 10_000
