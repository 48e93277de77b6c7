"""The web planner and JSON API (``aibudget serve``)."""
