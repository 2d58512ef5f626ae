"""The website live-chat channel: the widget's visitor API and its event stream."""
