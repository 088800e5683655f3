"""The shop's figures (工作台 and 分析): rollups per day in the shop's time zone, kept by the
``stats`` consumer of the event log (``consumer.py``) and rebuilt from the orders when a shop has
none yet (``rebuild.py``); the reports read the rollups, never the shop's orders."""
