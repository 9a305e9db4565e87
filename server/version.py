"""The server's version, shown on the pages and at /healthz."""
VERSION = "0.1.0"
