"""Request plumbing both audiences share (the JSON API and the pages): callers and roles, uploads, guards."""
