"""Who works an order or a conversation: assigning by hand and in bulk, the rules for who may
assign whom, round-robin among the members who are online, and presence (docs/architecture.md,
"Assignment and notifications")."""
