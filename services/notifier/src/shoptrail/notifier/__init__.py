"""Shoptrail notifier.

Sends order, shipping and opt-in cart-recovery emails, with suppression and
one-click unsubscribe.
"""
