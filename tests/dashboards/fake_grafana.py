"""A small stand-in for Grafana's HTTP API (no Grafana runs on these machines).

It implements only what `bongsu dashboards push` uses, with Grafana's documented behaviour: bearer
tokens with roles (401 unknown, 403 Viewer writing), folders by UID, dashboards by UID with versions,
and 412 `name-exists` when another UID holds the same title in the folder.
"""

from __future__ import annotations

import threading
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bongsu.processes import free_port


class FakeGrafana:
    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens
        self.folders: dict[str, dict] = {}
        self.dashboards: dict[str, dict] = {}  # uid -> {"dashboard", "folderUid", "version"}
        self.writes: list[str] = []  # "POST /api/dashboards/db <uid>" etc., in order
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = Starlette(routes=[
            Route("/api/folders", self._create_folder, methods=["POST"]),
            Route("/api/folders/{uid}", self._get_folder, methods=["GET"]),
            Route("/api/dashboards/uid/{uid}", self._get_dashboard, methods=["GET"]),
            Route("/api/dashboards/db", self._save_dashboard, methods=["POST"]),
        ])
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True, name="fake-grafana")

    def __enter__(self) -> FakeGrafana:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Grafana did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def _role(self, request: Request, write: bool) -> JSONResponse | None:
        header = request.headers.get("authorization", "")
        role = self.tokens.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
        if role is None:
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        if write and role == "Viewer":
            return JSONResponse({"message": "Access denied"}, status_code=403)
        return None

    async def _get_folder(self, request: Request) -> JSONResponse:
        if denied := self._role(request, write=False):
            return denied
        folder = self.folders.get(request.path_params["uid"])
        return JSONResponse(folder) if folder else JSONResponse({"message": "folder not found"}, status_code=404)

    async def _create_folder(self, request: Request) -> JSONResponse:
        if denied := self._role(request, write=True):
            return denied
        body = await request.json()
        if body["uid"] in self.folders:
            return JSONResponse({"message": "a folder with the same uid already exists"}, status_code=409)
        self.folders[body["uid"]] = {"uid": body["uid"], "title": body["title"], "id": len(self.folders) + 1}
        self.writes.append(f"POST /api/folders {body['uid']}")
        return JSONResponse(self.folders[body["uid"]])

    async def _get_dashboard(self, request: Request) -> JSONResponse:
        if denied := self._role(request, write=False):
            return denied
        stored = self.dashboards.get(request.path_params["uid"])
        if not stored:
            return JSONResponse({"message": "Dashboard not found"}, status_code=404)
        return JSONResponse({"dashboard": stored["dashboard"],
                             "meta": {"folderUid": stored["folderUid"], "url": f"/d/{stored['dashboard']['uid']}",
                                      "version": stored["dashboard"]["version"]}})

    async def _save_dashboard(self, request: Request) -> JSONResponse:
        if denied := self._role(request, write=True):
            return denied
        body = await request.json()
        dashboard, folder = body["dashboard"], body.get("folderUid", "")
        if folder and folder not in self.folders:
            return JSONResponse({"message": "folder not found"}, status_code=400)
        for uid, stored in self.dashboards.items():
            if uid != dashboard["uid"] and stored["folderUid"] == folder \
                    and stored["dashboard"]["title"] == dashboard["title"]:
                return JSONResponse({"message": "A dashboard with the same name in the folder already exists",
                                     "status": "name-exists"}, status_code=412)
        previous = self.dashboards.get(dashboard["uid"])
        version = previous["dashboard"]["version"] + 1 if previous else 1
        saved = {**dashboard, "id": previous["dashboard"]["id"] if previous else len(self.dashboards) + 1,
                 "version": version}
        self.dashboards[dashboard["uid"]] = {"dashboard": saved, "folderUid": folder}
        self.writes.append(f"POST /api/dashboards/db {dashboard['uid']}")
        return JSONResponse({"id": saved["id"], "uid": saved["uid"], "url": f"/d/{saved['uid']}",
                             "status": "success", "version": version})
