"""The JSON API's routers, in the order the application includes them."""

from grader.api.routes import assignments, gates, health, reports, session, similarity, submissions

ROUTERS = (assignments.router, gates.router, submissions.router, reports.router, similarity.router,
           session.router, health.router)
