"""Records: intake, transitions, field values, the work queue, pack versions, the history
journal and the virtual-time simulator (R-1, R-2, R-3).
"""
