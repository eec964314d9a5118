"""The virtual users' side: the user-side JSON API (`/api/v1/...`) and the chat page's files.

`server.py` authenticates and bounds every request and routes it; `api_*.py` hold the
endpoints, which act as one chosen virtual user through the world (never SQL); `feed.py` and
`user_events.py` turn world events into what one user sees; `traffic.py` keeps each bot's
recent OneBot traffic for the page's second pane. `openapi-user.yaml` documents the API.
"""
