"""Inbound adapters that turn what the pack declares into checked input.

Agents fill HTML forms built from the pack (the workspace, a later issue);
integrations send JSON to the REST API in `forms.api`. Both only parse,
call the engine and present its answer.
"""
