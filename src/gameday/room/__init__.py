"""The drill room: a game day in the browser, each participant at their own seat (``gameday room``).

A front end of the one drill core (gameday.facilitator.core), as the terminal facilitator is: every
action a seat takes is the core's, checked against the phase and the seat's role, and recorded as the
same timeline event. Nothing in the core imports this package.

    room.py       Room: the seats and their tokens, the drill host, who may see which events (no web code)
    guard.py      the safety checks: constant-time tokens, CSRF (header + Origin), body size, rate limits
    stream.py     server-sent events: the timeline with event ids, resumed exactly from Last-Event-ID
    viewer.py     the report viewer: past runs' report.html, the history, quarterly trends
    app.py        the Starlette application: pages, the JSON API, static assets from the package
    serve.py      uvicorn until a signal, then back to the room (which stops a running drill)
    static/       the hand-written HTML, CSS and JS (no build step, no CDN)
"""
