"""Background work that loses nothing (issue 14): durable jobs in the main database."""
