"""The SMS/MMS channel through Twilio's Programmable Messaging."""
