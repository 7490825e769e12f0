"""The token-protected fault API every shop service carries, so drills cause real incidents.

A fault always has an expiry: if the drill that set it dies, the service heals by itself.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import random
import time
from dataclasses import asdict, dataclass

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request
from pydantic import BaseModel, Field

from bongsu import conventions

EXEMPT_PATHS = ("/fault", "/metrics", "/livez", "/readyz")


class FaultRequest(BaseModel):
    error_rate: float = Field(0.0, ge=0.0, le=1.0, description="share of requests answered 500")
    latency_ms: int = Field(0, ge=0, le=60_000, description="delay added to every request")
    duration_s: int = Field(300, gt=0, le=86_400, description="the fault clears itself after this")


@dataclass
class Fault:
    error_rate: float = 0.0
    latency_ms: int = 0
    expires_at: float = 0.0  # time.time(); 0 means no fault

    @property
    def active(self) -> bool:
        return self.expires_at > time.time()

    def describe(self) -> dict:
        if not self.active:
            return {"active": False}
        return {"active": True, **asdict(self), "remaining_s": round(self.expires_at - time.time(), 1)}


def install_faults(app: FastAPI) -> Fault:
    """Add the /fault routes to `app` and apply the active fault to its other routes.

    The fault acts as an app-wide dependency, i.e. after routing, so the SDK still sees the route
    template of a request that the fault breaks.
    """
    fault = Fault()

    async def apply_fault(request: Request) -> None:
        if not fault.active or request.url.path.startswith(EXEMPT_PATHS):
            return
        if fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)
        if fault.error_rate and random.random() < fault.error_rate:
            raise HTTPException(status_code=500, detail="injected fault")

    token = os.environ.get(conventions.FAULT_TOKEN, "")
    router = APIRouter()

    def authorize(authorization: str | None) -> None:
        supplied = (authorization or "").removeprefix("Bearer ").encode()
        if not token or not hmac.compare_digest(supplied, token.encode()):
            raise HTTPException(status_code=401, detail="a valid bearer token (BONGSU_FAULT_TOKEN) is required",
                                headers={"WWW-Authenticate": "Bearer"})

    @router.get("/fault")
    async def show_fault(authorization: str | None = Header(default=None)) -> dict:
        authorize(authorization)
        return fault.describe()

    @router.post("/fault")
    async def set_fault(body: FaultRequest, authorization: str | None = Header(default=None)) -> dict:
        authorize(authorization)
        fault.error_rate, fault.latency_ms = body.error_rate, body.latency_ms
        fault.expires_at = time.time() + body.duration_s
        return fault.describe()

    @router.delete("/fault")
    async def clear_fault(authorization: str | None = Header(default=None)) -> dict:
        authorize(authorization)
        fault.expires_at = 0.0
        return fault.describe()

    app.include_router(router)
    app.router.dependencies.append(Depends(apply_fault))
    return fault
