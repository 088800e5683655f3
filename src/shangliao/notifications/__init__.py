"""The notification centre: what a member should hear about, stored per member, delivered live
over their staff socket (docs/architecture.md, "Assignment and notifications")."""
