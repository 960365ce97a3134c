"""The training plan as a service: sessions, generation, import/export, adaptation and forecasts.

This module is the plan's public face; the work is done by its sibling modules, one concern
each: :mod:`~lydiard.services.plan_views` (what is returned), :mod:`~lydiard.services.plan_store`
(storage rules and helpers on a connection), :mod:`~lydiard.services.plan_sessions` (sessions,
import/export, generation), :mod:`~lydiard.services.plan_proposals` (adaptation to the day's
assessment, a stage of :mod:`lydiard.services.pipeline`), :mod:`~lydiard.services.plan_changes`
(decisions) and :mod:`~lydiard.services.plan_forecasts` (plan view, forecast, a day's plan).

Storage
-------
* ``planned_sessions``: one row per session; its ``id`` is the domain ``session_id`` (stable
  through adaptations, used as the iCalendar UID stem). ``origin`` is generator | manual |
  import | adapted. The JSON column ``goal`` holds the session's metadata: ``{"goal": {...}}``
  for generated sessions and, for adapted ones, ``{"original": <session as first planned>,
  "original_origin": "generator"}`` so that "resume without cramming" can restore it.
* ``plan_changes``: one row per proposed change (status proposed → approved | rejected |
  accepted | overridden | superseded); ``diff`` is a list of ``{session_id, action, before,
  after, describe}``; ``reason`` holds the evidence summary.

Decisions
---------
A *coach-managed* athlete (an active coach link, or a coach manages the profile) gets
changes that wait for a coach: :func:`approve_change`, :func:`reject_change`,
:func:`edit_change`. A *self-coached* athlete decides alone: :func:`accept_change` or
:func:`override_change` (with a note). Approved and accepted changes are applied to the plan.
"""

from __future__ import annotations

from lydiard.services.plan_changes import (
    accept_change,
    approve_change,
    edit_change,
    override_change,
    reject_change,
)
from lydiard.services.plan_forecasts import (
    day_plan,
    forecast,
    plan_view,
)
from lydiard.services.plan_proposals import (
    list_changes,
    pending_change,
    propose_adaptation,
    propose_on,
)
from lydiard.services.plan_sessions import (
    create_session,
    delete_session,
    export_plan_ical,
    generate_and_store_plan,
    get_session,
    import_plan_csv,
    import_plan_ical,
    list_sessions,
    update_session,
)
from lydiard.services.plan_store import (
    DECIDED_STATUSES,
    MAX_SESSION_DURATION_S,
    is_coach_managed,
)
from lydiard.services.plan_views import (
    DayPlan,
    DiffView,
    ForecastView,
    ImportResult,
    PlanChangeView,
    PlanView,
    SessionView,
)

__all__ = [
    "DECIDED_STATUSES",
    "MAX_SESSION_DURATION_S",
    "DayPlan",
    "DiffView",
    "ForecastView",
    "ImportResult",
    "PlanChangeView",
    "PlanView",
    "SessionView",
    "accept_change",
    "approve_change",
    "create_session",
    "day_plan",
    "delete_session",
    "edit_change",
    "export_plan_ical",
    "forecast",
    "generate_and_store_plan",
    "get_session",
    "import_plan_csv",
    "import_plan_ical",
    "is_coach_managed",
    "list_changes",
    "list_sessions",
    "override_change",
    "pending_change",
    "plan_view",
    "propose_adaptation",
    "propose_on",
    "reject_change",
    "update_session",
]
