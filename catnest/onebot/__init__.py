"""The OneBot 11 protocol with no I/O: envelopes, params, segments, CQ codes, event shapes."""
