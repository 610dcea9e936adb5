"""HTTP handlers: thin functions that parse a request, call the share service and answer."""
