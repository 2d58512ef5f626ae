"""omnidesk: an open-source, self-hostable omnichannel contact centre."""

__version__ = "0.1.0"
