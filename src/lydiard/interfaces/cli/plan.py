"""``lydiard plan``: the training plan, its proposed changes and the decisions on them.

The CLI acts as the operator (``access.Actor.system()``): it may approve/reject (as a coach would)
and accept/override (as a self-coached athlete would), within the service's rules.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from lydiard.errors import InvalidInputError
from lydiard.interfaces.cli.common import (
    console,
    friendly_errors,
    lazy,
    parse_day,
    resolve_athlete,
    state,
)

if TYPE_CHECKING:
    from lydiard.services import access, planning
else:  # imported when a command runs
    access = lazy("lydiard.services.access")
    planning = lazy("lydiard.services.planning")

AthleteOpt = Annotated[str | None, typer.Option("--athlete", "-a", help="Athlete name or id (default: the only one)")]
NoteOpt = Annotated[str | None, typer.Option("--note", help="Why (kept with the decision)")]
ChangeOpt = Annotated[str | None, typer.Option("--change", help="Change id (default: the pending one)")]

MAX_PLAN_FILE_BYTES = 5 * 1024 * 1024


def _day(text: str | None, field: str) -> date | None:
    """``YYYY-MM-DD`` or ``+12w`` / ``+84d`` from today (see :func:`parse_day`)."""
    return parse_day(text, field=field) if text else None


def _summary(s: dict[str, Any] | None) -> str:
    if s is None:
        return "nothing"
    if s.get("session_type") == "rest":
        return "Rest"
    label = str(s.get("session_type", "")).replace("_", " ").capitalize()
    return f"{label} {round(float(s.get('duration_s', 0)) / 60)} min ({round(float(s.get('expected_load_au', 0)))} TSS)"


def print_change(change: planning.PlanChangeView) -> None:
    """The change session by session: before (struck, red) → after (green), with the reason."""
    console.print(f"[bold]Proposed change[/] {change.id} for {change.for_day} · status [bold]{change.status}[/]")
    if change.summary:
        console.print(f"[yellow]Why:[/] {escape(change.summary)}")
    for d in change.diffs:
        head = f"{d.day:%a %d %b}"
        before = escape(_summary(d.before))
        after = escape(_summary(d.after)) if d.after is not None else "removed"
        console.print(f"  {head}  [red strike]{before}[/] → [bold green]{after}[/]  [dim]({d.action})[/]")
    console.print(f"  Load change: {change.load_change_au:+.0f} TSS")


def _print_forecast(fc: planning.ForecastView) -> None:
    last = fc.as_planned.iloc[-1]
    line = (f"Forecast to {fc.as_planned.index[-1].date()}: CTL {last['ctl']:.0f}, ATL {last['atl']:.0f}, "
            f"TSB {last['tsb']:+.0f} as planned")
    if fc.adapted is not None:
        a = fc.adapted.iloc[-1]
        line += f"; adapted CTL {a['ctl']:.0f}, ATL {a['atl']:.0f}, TSB {a['tsb']:+.0f}"
    console.print(line)
    if fc.race_day is not None:
        console.print(f"Goal day {fc.race_day}; best form expected on {fc.peak_form_day or '–'} (by {fc.peak_by}).")
    if fc.performance_on_race_day:
        p = fc.performance_on_race_day
        console.print(f"Predicted on goal day: {p['value']:.1f} ({p['lower']:.1f}–{p['upper']:.1f}) "
                      f"{fc.performance_unit or ''}")
    console.print(f"[dim]{escape(fc.note)}[/]")


def register(app: typer.Typer) -> None:
    plan_app = typer.Typer(help="The training plan and its proposed changes.", no_args_is_help=True)
    app.add_typer(plan_app, name="plan")

    @plan_app.command("show")
    def show(ctx: typer.Context, start: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD")] = None,
             end: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD")] = None,
             athlete: AthleteOpt = None) -> None:
        """The planned sessions, the pending change and the forecast."""
        st = state(ctx)
        with friendly_errors():
            who = resolve_athlete(st, athlete)
            view = planning.plan_view(st.ctx, access.Actor.system(), who.id, start=_day(start, "from"), end=_day(end, "to"))
        changed = {d.session_id for d in view.pending.diffs} if view.pending else set()
        table = Table(title=f"Plan of {escape(who.name)}, {view.start} to {view.end}")
        table.add_column("day", no_wrap=True)
        for name in ("sport", "session", "min", "target", "TSS", "origin"):
            table.add_column(name, justify="right" if name in ("min", "TSS") else "left")
        table.add_column("id", overflow="fold")
        for s in view.sessions:
            mark = " [yellow]*[/]" if s.id in changed else ""
            table.add_row(f"{s.day:%a %Y-%m-%d}", s.sport, escape(s.title) + mark, f"{s.duration_min:.0f}",
                          escape(s.intensity_target), f"{s.expected_load_au:.0f}", s.origin, s.id)
        console.print(table)
        if not view.sessions:
            console.print("No sessions planned in this window: `lydiard plan generate` or `lydiard plan add`.")
        if view.pending is not None:
            who_decides = "the coach approves or rejects" if view.coach_managed else "accept or override"
            console.print(f"[yellow]* A change is waiting ({who_decides}): `lydiard plan diff`.[/]")
        if view.forecast is not None:
            _print_forecast(view.forecast)

    @plan_app.command("diff")
    def diff(ctx: typer.Context, athlete: AthleteOpt = None) -> None:
        """The pending change, session by session, with the reason."""
        st = state(ctx)
        with friendly_errors():
            who = resolve_athlete(st, athlete)
            change = planning.pending_change(st.ctx, access.Actor.system(), who.id)
        if change is None:
            console.print("No change is waiting for a decision.")
            return
        print_change(change)

    @plan_app.command("propose")
    def propose(ctx: typer.Context, day: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today)")] = None,
                athlete: AthleteOpt = None) -> None:
        """Propose a change of the plan from the day's fatigue assessment."""
        st = state(ctx)
        with friendly_errors():
            who = resolve_athlete(st, athlete)
            change = planning.propose_adaptation(st.ctx, access.Actor.system(), who.id, day=_day(day, "day"))
        if change is None:
            console.print("No change needed: train as planned.")
            return
        print_change(change)

    def decide(ctx: typer.Context, athlete: str | None, verb: str, change_id: str | None, note: str | None) -> None:
        st = state(ctx)
        with friendly_errors():
            who = resolve_athlete(st, athlete)
            actor = access.Actor.system()
            if verb == "approve":
                c = planning.approve_change(st.ctx, actor, who.id, change_id=change_id, note=note)
            elif verb == "reject":
                c = planning.reject_change(st.ctx, actor, who.id, change_id=change_id, note=note)
            elif verb == "accept":
                c = planning.accept_change(st.ctx, actor, who.id, change_id=change_id, note=note)
            else:
                c = planning.override_change(st.ctx, actor, who.id, change_id=change_id, note=note or "")
        applied = c.status in ("approved", "accepted")
        console.print(f"Change {c.id} {c.status}" + (f": {len(c.diffs)} session(s) updated." if applied
                                                    else "; the plan is unchanged."))

    @plan_app.command("approve")
    def approve(ctx: typer.Context, note: NoteOpt = None, change: ChangeOpt = None, athlete: AthleteOpt = None) -> None:
        """Approve the pending change (as the coach) and apply it."""
        decide(ctx, athlete, "approve", change, note)

    @plan_app.command("reject")
    def reject(ctx: typer.Context, note: NoteOpt = None, change: ChangeOpt = None, athlete: AthleteOpt = None) -> None:
        """Reject the pending change (as the coach); the plan stays."""
        decide(ctx, athlete, "reject", change, note)

    @plan_app.command("accept")
    def accept(ctx: typer.Context, note: NoteOpt = None, change: ChangeOpt = None, athlete: AthleteOpt = None) -> None:
        """Accept the pending change (self-coached athletes) and apply it."""
        decide(ctx, athlete, "accept", change, note)

    @plan_app.command("override")
    def override(ctx: typer.Context, note: Annotated[str, typer.Option("--note", help="Why you keep the plan")],
                 change: ChangeOpt = None, athlete: AthleteOpt = None) -> None:
        """Keep the plan against the advice (self-coached athletes); the note is recorded."""
        decide(ctx, athlete, "override", change, note)

    @plan_app.command("generate")
    def generate(ctx: typer.Context,
                 goal_day: Annotated[str, typer.Option("--goal-day", help="Race/event day: YYYY-MM-DD, or +12w / +84d from today")],
                 sport: Annotated[str, typer.Option(help="run, ride, swim...")] = "run",
                 hours: Annotated[float, typer.Option("--hours", help="Most training hours per week")] = 6.0,
                 goal_type: Annotated[str, typer.Option("--goal-type", help="race or event")] = "race",
                 distance_km: Annotated[float | None, typer.Option("--distance-km", help="Goal distance")] = None,
                 pattern: Annotated[str, typer.Option("--pattern", help="Loading:recovery weeks, 3:1 or 2:1")] = "3:1",
                 start: Annotated[str | None, typer.Option("--start", help="First day (default today)")] = None,
                 athlete: AthleteOpt = None) -> None:
        """Generate a periodised plan to the goal (replaces earlier generated sessions from the start)."""
        st = state(ctx)
        with friendly_errors():
            try:
                load_w, rec_w = (int(x) for x in pattern.split(":"))
            except ValueError as exc:
                raise InvalidInputError("--pattern must look like 3:1", field="recovery_pattern") from exc
            goal = _day(goal_day, "goal_day")
            assert goal is not None
            who = resolve_athlete(st, athlete)
            sessions = planning.generate_and_store_plan(
                st.ctx, access.Actor.system(), who.id, goal_day=goal, goal_sport=sport, goal_type=goal_type,
                goal_distance_m=distance_km * 1000.0 if distance_km is not None else None, weekly_hours=hours,
                recovery_pattern=(load_w, rec_w), start_day=_day(start, "start_day"))
        weeks = (sessions[-1].day - sessions[0].day).days // 7 + 1 if sessions else 0
        console.print(f"Planned {len(sessions)} day(s) over {weeks} week(s) to {goal}. `lydiard plan show` to see them.")

    @plan_app.command("add")
    def add(ctx: typer.Context, day: Annotated[str, typer.Option(help="YYYY-MM-DD")],
            session_type: Annotated[str, typer.Option("--type", help="easy, long, tempo, intervals, race, "
                                                                      "strength, rest, active_recovery")],
            minutes: Annotated[float, typer.Option(help="Duration (min)")] = 0.0,
            sport: Annotated[str, typer.Option()] = "run",
            target: Annotated[str, typer.Option(help="e.g. Z2, 95% FTP, RPE 7")] = "",
            load: Annotated[float | None, typer.Option(help="Expected load (TSS); default from type × time")] = None,
            notes: Annotated[str, typer.Option()] = "",
            athlete: AthleteOpt = None) -> None:
        """Add one session to the plan."""
        st = state(ctx)
        with friendly_errors():
            who = resolve_athlete(st, athlete)
            the_day = _day(day, "day")
            assert the_day is not None
            s = planning.create_session(st.ctx, access.Actor.system(), who.id, day=the_day, sport=sport,
                                        session_type=session_type, duration_s=minutes * 60.0, intensity_target=target,
                                        expected_load_au=load, notes=notes)
        console.print(f"Added {s.summary()} on {s.day} ({s.id}).")

    @plan_app.command("remove")
    def remove(ctx: typer.Context, session_id: str, athlete: AthleteOpt = None) -> None:
        """Remove one session (by id, as shown by `plan show`)."""
        st = state(ctx)
        with friendly_errors():
            who = resolve_athlete(st, athlete)
            planning.delete_session(st.ctx, access.Actor.system(), who.id, session_id)
        console.print(f"Removed {session_id}.")

    @plan_app.command("import")
    def import_cmd(ctx: typer.Context, path: Annotated[Path, typer.Argument(help="A .csv or .ics file")],
                   sport: Annotated[str, typer.Option(help="Sport when the file does not say")] = "run",
                   athlete: AthleteOpt = None) -> None:
        """Import sessions from CSV (day, session_type, duration_min...) or iCalendar (.ics)."""
        st = state(ctx)
        with friendly_errors():
            suffix = path.suffix.lower()
            if suffix not in (".csv", ".ics", ".ical", ".txt"):
                raise InvalidInputError("give a .csv or .ics file", field="path")
            try:
                if path.stat().st_size > MAX_PLAN_FILE_BYTES:
                    raise InvalidInputError("the file is larger than 5 MB", field="path")
                text = path.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as exc:
                raise InvalidInputError(f"cannot read {path}: {exc}", field="path") from exc
            who = resolve_athlete(st, athlete)
            if suffix in (".ics", ".ical") or text.lstrip().upper().startswith("BEGIN:VCALENDAR"):
                res = planning.import_plan_ical(st.ctx, access.Actor.system(), who.id, text, default_sport=sport)
            else:
                res = planning.import_plan_csv(st.ctx, access.Actor.system(), who.id, text, default_sport=sport)
        console.print(f"{res.created} session(s) added, {res.updated} updated, {res.unchanged} already present.")

    @plan_app.command("export")
    def export(ctx: typer.Context, out: Annotated[Path, typer.Option("--out", help="Where to write the .ics")],
               start: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD")] = None,
               end: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD")] = None,
               athlete: AthleteOpt = None) -> None:
        """Write the plan as an iCalendar file (calendar apps update events on re-import)."""
        st = state(ctx)
        with friendly_errors():
            who = resolve_athlete(st, athlete)
            text = planning.export_plan_ical(st.ctx, access.Actor.system(), who.id, start=_day(start, "from"),
                                             end=_day(end, "to"))
            try:
                out.write_bytes(text.encode("utf-8"))
            except OSError as exc:
                raise InvalidInputError(f"cannot write {out}: {exc}", field="out") from exc
        console.print(f"Wrote {text.count('BEGIN:VEVENT')} session(s) to {out}.")
