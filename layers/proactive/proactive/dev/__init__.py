"""The local stack and the command line: never shipped in the Lambda layer."""
