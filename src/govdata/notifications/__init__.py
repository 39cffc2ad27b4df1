"""In-app notifications: messages to users about work that concerns them (reviews, returns, ...)."""
