"""Security headers on every answer, set in one after_request hook (ASVS 3.4, 14.3.2).

Pages run no inline script: each script tag carries a per-request nonce (Flask-Admin's
templates take it through `csp_nonce_generator`, ours through `csp_nonce()`), so an injected
`<script>` would not run even if escaping failed. Styles may be inline (Flask-Admin writes
style attributes); they cannot run code. Only Swagger UI, which starts itself with an inline
script of flask-smorest's, gets a looser policy, on its one page that holds no personal data.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, g, request

SWAGGER_PAGE = "/api/v1/docs"
FIXED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def csp_nonce() -> str:
    """The nonce of this request's script tags, made on first use."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    nonce: str = g.csp_nonce
    return nonce


def content_security_policy() -> str:
    scripts = f"'self' 'nonce-{csp_nonce()}'"
    if request.path == SWAGGER_PAGE:
        scripts = "'self' 'unsafe-inline'"
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


def secure_headers(response: Response) -> Response:
    for name, value in FIXED_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Content-Security-Policy", content_security_policy())
    # Pages, JSON and exports may hold personal data: no cache, shared or private, keeps them.
    # Static files (the same for everyone) stay cacheable.
    if not (request.endpoint or "").endswith(("static", "swagger_ui_assets")):
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    return response


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(secure_headers)
