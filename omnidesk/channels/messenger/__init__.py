"""Facebook Messenger, and the Messenger Platform code Instagram messaging shares."""
