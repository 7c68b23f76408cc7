"""The messengers the bot answers on; each renders the channel-neutral `Reply`."""
