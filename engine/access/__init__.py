"""Access: people who sign in, API tokens, sign-in throttling, the keys for personal data
and its masking (R-8.3).
"""
