"""Instagram messaging: the Messenger Platform for an Instagram professional account."""
