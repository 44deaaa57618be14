"""Shoptrail ingest.

Receives Stripe, Printify, Printful and email-provider webhooks, verifies them
and publishes typed events.
"""
