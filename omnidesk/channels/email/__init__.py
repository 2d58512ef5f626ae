"""The email channel: SMTP listener and IMAP polling in, SMTP out, threaded conversations."""
