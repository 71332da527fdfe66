"""The Punk API v2 server (``punkml api serve``)."""
