#!/bin/sh
# The AWS Lambda Web Adapter starts this script and relays each function URL request to the app
# over loopback, streaming the response back as the app writes it. The app serves streamed
# conversation answers only (proactive.api.stream); the rest of the API is behind the HTTP API.
# The port is the adapter's (AWS_LWA_PORT, formerly PORT); it checks readiness by connecting to it.
exec python -m uvicorn --host 127.0.0.1 --port "${AWS_LWA_PORT:-${PORT:-8080}}" --no-access-log \
	--factory proactive.api:create_stream_app
