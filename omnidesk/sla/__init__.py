"""SLAs: policies, business-time targets and the clocks that keep them."""
