"""A collect, along its flow: run → start → discovery → plan → scheduler → unit (pagers, the
reviews pager and its shared queries) → commit → finish."""
