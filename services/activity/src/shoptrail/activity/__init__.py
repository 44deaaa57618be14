"""Shoptrail activity.

Consumes every topic into one log; serves the timeline, the feed and live
badge counts.
"""
