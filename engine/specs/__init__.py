"""Pack specs: a loaded workflow pack as frozen values, and the builder that checks its sense.

Pure: no session, no store; the expressions run in Jinja2's sandbox, never `eval`.
"""
