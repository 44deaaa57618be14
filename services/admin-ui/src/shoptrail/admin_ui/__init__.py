"""Shoptrail admin-ui.

The shop owner's web admin on top of the activity service.
"""
