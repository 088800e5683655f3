"""Addresses: GB/T 2260 divisions (``divisions``), smart paste (``smart_paste``), HTTP routes (``api``)."""
