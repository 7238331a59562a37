"""Customers helping themselves (issue #23): what the portal, web form and chat box record."""
