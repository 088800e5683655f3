"""The merchant console: server-rendered pages (Jinja2) made lively with HTMX."""
