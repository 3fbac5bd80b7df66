"""Telling people what happened: channels, what to tell them, rendering and sending.

- `notice`: `Notice`, what one notification says whatever the channel, and its `Outcome`.
- `channels`: `CHANNEL_TYPES`, `validate(type, config)` (InvalidInput naming `config.<key>`),
  `mask(type, config)` (what the API shows: never a token, which is never logged either),
  `new_channel_secret()` (a webhook channel's signing secret).
- `render`: `render(type, notice, config) -> Rendered`, each receiver's exact message within its
  limits, long text cut with a visible marker naming where the full text is.
- `send`: `deliver(channel, rendered, *, message_id, now) -> Delivery` (sent, retry, gone or
  failed, with the receiver's answer) and `EmailSettings`.

The package imports none of them itself: modules that only need `targets` (agents, schedules,
runs) must not load the senders and what they depend on.
"""
