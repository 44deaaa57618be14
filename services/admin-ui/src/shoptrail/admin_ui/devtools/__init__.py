"""Test support: serving an app on a free port, a logged-in client, the shop's stories.

Used by the admin UI's integration and browser tests; nothing here runs in production.
"""
