"""The agent side: talks HTTP only, imports neither gui/ nor server/."""
