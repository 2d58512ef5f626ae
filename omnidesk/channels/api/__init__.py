"""The API channel: an external system posts messages in and receives replies by webhook."""
