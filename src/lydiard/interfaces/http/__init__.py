"""HTTP plumbing shared by the JSON API and the web pages (``lydiard.interfaces.http``).

For the web package (``lydiard.interfaces.web``)
------------------------------------------------
* **Mounting.** ``create_app(settings)`` (in the composition root ``lydiard.interfaces.app``) opens the service context once
  (``app.state.ctx``), installs the security headers, error handlers and the global CSRF
  check, includes the API under ``/api/v1``, then calls ``lydiard.interfaces.web.mount(app)``
  (plain imports). In ``mount`` include your router and static files
  (``app.mount("/static", StaticFiles(...), name="static")``).
* **The caller.** Use the aliases of ``http.deps``: ``CtxDep`` (the ``Context``), ``ActorDep``
  (``Actor``, anonymous when not logged in), ``UserActorDep`` (401 when anonymous) and
  ``UserDep`` (the ``UserInfo`` of the browser session, for the page header). Pass the actor
  to services: they do every access check (a refused athlete is a ``NotFoundError``).
* **CSRF.** Every unsafe request (POST/PUT/PATCH/DELETE) with the session cookie must carry
  the session's token: put ``<input type="hidden" name="csrf_token" value="{{ csrf }}">`` in
  every form, with ``csrf = csrf_token_for(request)`` (``http.auth``), or send the header
  ``X-CSRF-Token`` from scripts. The check is an app-wide dependency: nothing to add per route.
  Cross-site ``Origin`` headers are refused on unsafe requests (this also covers the login form).
  This is part of ``http.auth.enforce_request_policy``, the one check run before every route
  (anonymous ``/api`` calls 401, read tokens write nothing, account changes by session only,
  lone surrogates 422).
* **Audit.** Any 2xx response to a route with an ``{athlete_id}`` path parameter, for a caller
  other than the athlete, is recorded in the athlete's audit log by ``http.access_audit``:
  name the parameter ``athlete_id`` and nothing else is needed.
* **Login/logout.** In your POST handlers call ``login_response(request, response, email=,
  password=)`` (sets the HttpOnly cookie; raises ``AuthenticationError`` — same message for
  unknown email and wrong password — or ``RateLimitedError``) and ``logout(request, response)``.
  Set the cookie on the response you return (e.g. a ``RedirectResponse``).
* **Errors.** Raise Lydiard errors; never choose statuses. For HTML pages register
  ``app.state.html_error_renderer = fn`` where ``fn(request, problem: Problem) -> Response``
  (``http.errors.Problem``: ``status``, ``title``, ``detail``, ``headers``); it is used for
  non-``/api/`` requests that accept ``text/html``. A 401 page may redirect to the login page.
* **Security headers.** The CSP forbids inline ``<script>`` and ``style=`` attributes and
  inline ``<style>``: put JS and CSS in static files. Images may be ``data:`` URIs.
* **Uploads.** The request body is limited to ``settings.max_upload_bytes`` (413 beyond,
  enforced while streaming). Read uploads with ``await request.form()``: files are spooled.
  Process them inside ``async with http.work.request_budget(request, budget_s) as budget``
  and pass ``budget`` to ``importing.import_upload``: work stops when it is spent or the
  client disconnects.
"""
