"""Insight: KPIs and their daily rollup, early-warning monitors and improvement actions
(R-4, R-6, R-7).
"""
