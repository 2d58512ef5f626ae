"""Channel adapters: each provider speaks its protocol; the rest of omnidesk speaks Inbound
and Outbound. The domain never imports an adapter."""
