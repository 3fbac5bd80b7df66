"""The console: the web pages people use instead of curl, served by the API's own app.

Pages are rendered on the server (Jinja2) from the API's own answers, asked of the API in-process
as the signed-in person (`web.api`), so a page shows exactly what the API, the SDK and the CLI
would, and never reads the table behind the API's back. htmx makes them live; uPlot draws the
charts; both are files of this package (`static/`), so the console needs no network and no build.

- `session`: the session cookie (the same workspaces as the token it was opened with) and the
  token that proves a form was sent by one of the console's own pages (CSRF).
- `web`: what every page module uses: the templates, who is looking, the in-process API.
- `routes_*`: the pages, each module one part of the console, all under `/console`.
"""
