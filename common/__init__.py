"""Plumbing shared by every app: the error vocabulary and its handler, time conversions,
pagination, request parsing and negotiation, decimal strings, bulk SQL helpers. It imports no app
and no part of the pipeline, so any app may import it.
"""
