"""The JSON API's routers, in the order the application includes them."""

from grader.api.routes import assignments, gates, health, reports, session, submissions

ROUTERS = (assignments.router, gates.router, submissions.router, reports.router, session.router,
           health.router)
