"""What leaves the shop: parcels (split shipments, delivery per parcel) and shipping-fee templates."""
