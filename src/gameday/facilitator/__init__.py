"""The people side of a game day: injects, scripted responders, the interactive facilitator, tabletop mode.

    events.py      DrillRecorder: writes the human-side kinds (gameday/events.py) with the drill context
    severity.py    the severity table (targets, update cadence) and escalation triggers (pure)
    templates.py   status update templates (internal, customer, executive, status page)
    injects.py     InjectScheduler: the master scenario events list (pure: events + time -> due injects)
    state.py       DrillState: what the team has done so far, rebuilt from the timeline alone
    checklist.py   the linked runbook as a checklist; running one step's command safely
    clock.py       ScaledClock: a compressed clock for tabletop practice, which can be paused
    pause.py       TabletopPause: pause and resume a tabletop's clock, recorded; what every front end calls
    loop.py        DrillLoop: the background thread that releases injects and escalation prompts
    scripted.py    ScriptedResponder: a team from the scenario's ``responses:`` (CI, tests)
    observer.py    FacilitatorObserver: the engine side of a live, human drill
    session.py     FacilitatorSession: the phases and prompts (console and input are passed in)
    tabletop.py    tabletop_runner: the engine's Runner in simulated mode, on a compressed clock
    drill.py       run a facilitated drill (engine in a thread, prompts in the foreground) and resume one
"""
