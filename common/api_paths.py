"""Where the registry's HTTP API lives: the server routes these, agents call them."""

REGISTER_PATH = "/api/client-registry/register"
CA_PATH = "/api/client-registry/ca"
WHOAMI_PATH = "/api/auth/whoami"
OPENAPI_PATH = "/api/openapi.json"
