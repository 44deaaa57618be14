"""Shoptrail fulfilment.

Submits orders to the provider with retries, tracks their status, syncs
products.
"""
