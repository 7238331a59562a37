"""Customers and care: profiles and orders, tiers, care campaigns, satisfaction, privacy
requests and CSV imports (R-1.7, R-3.3, R-5, R-8.3).
"""
