"""The web pages: server-rendered (Jinja2) views over the same services and role checks as the JSON API."""
