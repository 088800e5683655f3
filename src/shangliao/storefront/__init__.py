"""The customer's side of a shop: the pages a phone opens, their API, and visitors (devices)."""
