"""FastAPI dependencies: settings, the Elasticsearch client, a store session, templates and the caller.

Handlers declare what they need (`settings: SettingsDep`, `db: DbSession`, `user: Analyst`)
instead of reaching into `request.app.state` or opening sessions by hand. `DbSession` ends
(commits, or rolls back on an error) when the handler returns, before the response is sent.
A form post declares its caller as `AnalystPost` (`LiaisonPost`, `AdminPost`): the role check,
then the form's CSRF token.
"""

from collections.abc import Callable, Iterator
from typing import Annotated

from elasticsearch import Elasticsearch
from fastapi import Depends, Form, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from core.settings import Settings
from core.store import session_scope
from webapp.security import LoginThrottle, Principal, Role, TokenCache, api_role, check_csrf, page_role


def app_settings(request: Request) -> Settings:
    return request.app.state.settings


def es_client(request: Request) -> Elasticsearch:
    return request.app.state.es


def templates(request: Request) -> Jinja2Templates:
    return request.app.state.templates


def throttle(request: Request) -> LoginThrottle:
    return request.app.state.throttle


def token_cache(request: Request) -> TokenCache:
    return request.app.state.token_cache


SettingsDep = Annotated[Settings, Depends(app_settings)]
EsDep = Annotated[Elasticsearch, Depends(es_client)]
TemplatesDep = Annotated[Jinja2Templates, Depends(templates)]
ThrottleDep = Annotated[LoginThrottle, Depends(throttle)]
TokenCacheDep = Annotated[TokenCache, Depends(token_cache)]


def db_session(settings: SettingsDep) -> Iterator[Session]:
    with session_scope(settings) as session:
        yield session


DbSession = Annotated[Session, Depends(db_session, scope="function")]

Analyst = Annotated[Principal, Depends(page_role("analyst"))]
Liaison = Annotated[Principal, Depends(page_role("liaison"))]
Admin = Annotated[Principal, Depends(page_role("admin"))]
ApiAnalyst = Annotated[Principal, Depends(api_role("analyst"))]
ApiLiaison = Annotated[Principal, Depends(api_role("liaison"))]


def form_poster(role: Role) -> Callable[..., Principal]:
    """Dependency for HTML form posts: `page_role`, then the form's `csrf` field must be this session's token."""

    def dependency(
        request: Request, user: Annotated[Principal, Depends(page_role(role))], csrf: Annotated[str, Form()] = ""
    ) -> Principal:
        check_csrf(request, csrf, user)
        return user

    return dependency


AnalystPost = Annotated[Principal, Depends(form_poster("analyst"))]
LiaisonPost = Annotated[Principal, Depends(form_poster("liaison"))]
AdminPost = Annotated[Principal, Depends(form_poster("admin"))]
