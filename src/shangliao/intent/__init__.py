"""Order-intent recognition: reading a chat message against the shop's catalog."""
