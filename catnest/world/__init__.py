"""The QQ side: accounts, friends, groups, conversations, messages and their rules."""
