"""After-sales (售后): refund-only, return-and-refund and exchange requests on an order."""
