"""The Telegram channel: a Bot API bot answering customers' private chats."""
