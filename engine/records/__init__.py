"""Records: intake, transitions, field values, the work queue, pack versions, the history
journal and the virtual-time simulator (R-1, R-2, R-3).

`searchindex` is imported here, whatever part of records a process uses: it keeps every
record's search document in step with its text on each flush, wherever the write comes from.
"""

from engine.records import searchindex as searchindex
