"""`orders`: the shop's public API. Places and lists orders and runs the checkout A/B test."""

from __future__ import annotations

import itertools
import logging
import os

import httpx
from fastapi import FastAPI, HTTPException
from loguru import logger
from pydantic import BaseModel, Field

import instrumentation
from examples.shop.faults import install_faults

instrumentation.init(service_name="orders")
logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per readiness probe is noise

PAYMENTS_URL = os.environ.get("PAYMENTS_URL", "http://127.0.0.1:8082")
checkout = instrumentation.Experiment("checkout-button", ["control", "one-click"])

api = FastAPI(title="orders", docs_url=None, redoc_url=None, openapi_url=None)
install_faults(api)
_orders: dict[int, dict] = {}
_ids = itertools.count(1)
_client = httpx.AsyncClient(timeout=5.0)


class OrderRequest(BaseModel):
    customer_id: str = Field(min_length=1, max_length=64)
    items: list[str] = Field(min_length=1, max_length=50)
    amount_cents: int = Field(gt=0, le=10_000_000)
    card_number: str = Field(min_length=12, max_length=19)


async def _payments_ready() -> bool:
    try:
        return (await _client.get(f"{PAYMENTS_URL}/livez", timeout=1.0)).status_code == 200
    except httpx.HTTPError:
        return False


instrumentation.add_readiness_check("payments", _payments_ready)


@api.post("/orders", status_code=201)
async def place_order(body: OrderRequest) -> dict:
    variant = checkout.variant_for(body.customer_id)
    order = {"id": next(_ids), "customer_id": body.customer_id, "items": body.items,
             "amount_cents": body.amount_cents, "checkout_variant": variant, "status": "pending"}
    try:
        response = await _client.post(
            f"{PAYMENTS_URL}/charges",
            json={"order_id": order["id"], "amount_cents": body.amount_cents, "card_number": body.card_number},
        )  # the SDK traces httpx calls and adds the W3C traceparent header
    except httpx.HTTPError as exc:
        logger.error("payments unreachable for order {order_id}: {error}", order_id=order["id"], error=str(exc))
        raise HTTPException(status_code=502, detail="payments unreachable") from None
    if response.status_code >= 500:
        logger.error("payments failed order {order_id} with {code}", order_id=order["id"], code=response.status_code)
        raise HTTPException(status_code=502, detail="payments failed")
    order["status"] = "paid" if response.status_code == 201 else "payment_declined"
    _orders[order["id"]] = order
    if order["status"] == "paid":
        checkout.convert(body.customer_id)
    logger.info("order {order_id} {status} (variant {variant})", order_id=order["id"],
                status=order["status"], variant=variant)
    return order


@api.get("/orders")
async def list_orders(limit: int = 20) -> list[dict]:
    return list(_orders.values())[-max(1, min(limit, 100)):]


@api.get("/orders/{order_id}")
async def get_order(order_id: int) -> dict:
    if order_id not in _orders:
        raise HTTPException(status_code=404, detail="no such order")
    return _orders[order_id]


app = instrumentation.instrument_asgi(api)
