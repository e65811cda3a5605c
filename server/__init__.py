"""The registration service, its HTTP face and its certificate authority."""
