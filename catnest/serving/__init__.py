"""What every listening port shares, OneBot transports and the web side alike: aiohttp
listeners with the same connection caps and timeouts, tokens, browser-site rules, bodies."""
