"""How a shop is paid: its payment methods, payment attempts (native QR), verified provider
notifications, the customer's payment proofs. Shangliao records and verifies; it never moves money."""
