"""PIPL (个人信息保护法) requests about one customer: a copy of their data (``export.py``) and
erasure (``erase.py``). Both are recorded in the audit log; see docs/architecture.md "Privacy"."""
