"""The Leveringen page and its JSON endpoint: a small FastAPI app, mounted by the plugin.

Thin on purpose: the rules are in ``etl.ui.leveringen``, the HTML in ``etl.ui.html``.
An Airflow plugin's FastAPI app is *not* behind Airflow's authentication by itself, so
every route here depends on ``current_user``: the same check the core API does
(``airflow.api_fastapi.core_api.security.get_user``: a Bearer token, else the UI's
``_token`` cookie, validated by the auth manager the UI uses), and then the auth
manager's ``is_authorized_custom_view`` for the resource "Leveringen". Anonymous gets
401 (the page: a Dutch page with a link to the login), a user without a role 403.

Routes, under the plugin's prefix (``/leveringen``):

    GET /                                   the matrix (HTML); ``?levering=<id>`` opens one delivery
    GET /api/matrix                         the same matrix as JSON
    GET /api/levering/{levering_id}         one delivery as JSON
    GET /levering/{levering_id}/gemarkeerd.xlsx   the marked-up copy (download)
"""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from etl.core.config import DataDirs
from etl.core.quarters import QUARTER_RE

RESOURCE = "Leveringen"
bearer = HTTPBearer(auto_error=False)


async def current_user(request: Request,
                       credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Any:
    """The caller as the Airflow auth manager sees them; 401/403 otherwise."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.core_api.security import get_user

    user = await get_user(request, _oauth_token=None, bearer_credentials=credentials)
    if not get_auth_manager().is_authorized_custom_view(method="GET", resource_name=RESOURCE, user=user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Geen toegang tot Leveringen voor deze gebruiker")
    return user


def data_dirs() -> DataDirs:
    return DataDirs.from_env()


User = Annotated[Any, Depends(current_user)]
Dirs = Annotated[DataDirs, Depends(data_dirs)]


def _quarters(van: str | None, tot: str | None) -> list[str] | None:
    if not van and not tot:
        return None
    from etl.core.quarters import quarter_range

    for q in (van, tot):
        if q and not QUARTER_RE.match(q):
            raise HTTPException(422, f"geen kwartaal als 2024Q3: {q!r}")
    if not (van and tot):
        raise HTTPException(422, "geef zowel 'van' als 'tot'")
    return quarter_range(van, tot)


def create_app() -> FastAPI:
    from etl.ui import html
    from etl.ui.leveringen import load_detail, load_matrix, marked_copy

    app = FastAPI(title="Leveringen", description="Leveringen per partner en kwartaal (monitor huiselijk geweld)",
                  docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException):
        if "/api/" in request.url.path:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return HTMLResponse(html.error_page(exc.status_code, str(exc.detail)), status_code=exc.status_code)

    @app.get("/", response_class=HTMLResponse)
    def page(request: Request, user: User, dirs: Dirs, levering: str | None = None, van: str | None = None,
             tot: str | None = None) -> HTMLResponse:
        t = time.perf_counter()
        matrix = load_matrix(dirs, quarters=_quarters(van, tot))
        detail = load_detail(dirs, levering) if levering else None
        if levering and detail is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Deze levering bestaat niet")
        body = html.page(matrix, detail, base=request.scope.get("root_path", ""), user=str(user.get_name()))
        return HTMLResponse(body, headers={"Server-Timing": f"app;dur={(time.perf_counter() - t) * 1000:.1f}",
                                           "Cache-Control": "no-store"})

    @app.get("/api/matrix")
    def matrix_json(user: User, dirs: Dirs, van: str | None = None, tot: str | None = None) -> JSONResponse:
        return JSONResponse(load_matrix(dirs, quarters=_quarters(van, tot)).to_json(),
                            headers={"Cache-Control": "no-store"})

    @app.get("/api/levering/{levering_id}")
    def detail_json(levering_id: str, user: User, dirs: Dirs) -> JSONResponse:
        detail = load_detail(dirs, levering_id)
        if detail is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Deze levering bestaat niet")
        return JSONResponse(detail, headers={"Cache-Control": "no-store"})

    @app.get("/levering/{levering_id}/gemarkeerd.xlsx")
    def download(levering_id: str, user: User, dirs: Dirs) -> FileResponse:
        path = marked_copy(dirs, levering_id)
        if path is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Geen gemarkeerde kopie voor deze levering")
        return FileResponse(path, filename=path.name, headers={"Cache-Control": "no-store"},
                            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    return app


def warm_up_in_api_server() -> None:
    """Import the store (pandas) in the background in the api-server, so the first page is fast too.

    Only there: the scheduler, the dag-processor and task processes load plugins as
    well, and must not pay for it at parse time.
    """
    argv = " ".join(sys.argv)
    if "api-server" not in argv and "api_server" not in argv:
        return
    import threading

    def _import() -> None:
        import etl.intake.inbox  # noqa: F401
        import etl.intake.markup  # noqa: F401
        import etl.store.db  # noqa: F401

    threading.Thread(target=_import, name="leveringen-warm-up", daemon=True).start()
