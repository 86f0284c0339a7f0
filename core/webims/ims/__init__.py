"""The trio SIP layer toward the IMS: transports, the transaction endpoint, per-subscriber user agents."""
