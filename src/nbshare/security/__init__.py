"""Secrets and the headers that keep notebook content away from the service's origin."""
