"""`.handle_quick_operation`: what a webhook reply or a bot's quick operation asks for."""
