"""`payments`: charges cards for orders. Called by `orders` over HTTP with trace context."""

from __future__ import annotations

import importlib
import itertools
import random

from fastapi import FastAPI, HTTPException
from loguru import logger
from pydantic import BaseModel, Field

import instrumentation
from examples.shop.faults import install_faults
from examples.shop.releases import running

BUILD = running("payments")
# Each build ships its own fee module (examples/shop/releases.py); identity comes in through OTEL_* env.
fees = importlib.import_module(f"examples.shop.{BUILD.modules[-1]}")
instrumentation.init(service_name="payments")

api = FastAPI(title="payments", docs_url=None, redoc_url=None, openapi_url=None)
install_faults(api)
_charges: dict[int, dict] = {}
_ids = itertools.count(1)


class ChargeRequest(BaseModel):
    order_id: int
    amount_cents: int = Field(gt=0, le=10_000_000)
    card_number: str = Field(min_length=12, max_length=19)


@api.post("/charges", status_code=201)
async def charge(body: ChargeRequest) -> dict:
    # A real processor declines some cards; a decline is a business outcome (402), not an outage.
    approved = random.random() > 0.02
    fee = fees.fee_cents(body.amount_cents, body.card_number)
    charge = {"id": next(_ids), "order_id": body.order_id, "amount_cents": body.amount_cents, "fee_cents": fee,
              "status": "approved" if approved else "declined", "card_last4": body.card_number[-4:]}
    _charges[charge["id"]] = charge
    # The full card number is in this line on purpose: the SDK's PII redaction must mask it.
    logger.info("charge {status} for order {order_id} card {card}", status=charge["status"],
                order_id=body.order_id, card=body.card_number)
    if not approved:
        raise HTTPException(status_code=402, detail="card declined")
    return charge


@api.get("/charges/{charge_id}")
async def get_charge(charge_id: int) -> dict:
    if charge_id not in _charges:
        raise HTTPException(status_code=404, detail="no such charge")
    return _charges[charge_id]


app = instrumentation.instrument_asgi(api)
