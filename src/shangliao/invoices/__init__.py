"""Invoices (发票): a customer's request for an order's invoice, and staff marking it issued."""
