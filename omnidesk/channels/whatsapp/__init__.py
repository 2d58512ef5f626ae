"""WhatsApp Business through Meta's Cloud API."""
