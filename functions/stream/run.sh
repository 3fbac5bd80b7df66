#!/bin/sh
# The AWS Lambda Web Adapter starts this script and relays each function URL request to the app
# over loopback, streaming the response back as the app writes it.
exec python -m uvicorn --host 127.0.0.1 --port "${PORT:-8080}" --no-access-log --factory proactive.api:create_app
