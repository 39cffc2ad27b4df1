"""Sharing (共享): demands, applications and their approval, grants, the data-service API,
subscriptions and objections."""
