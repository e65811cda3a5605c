"""Where the registry's HTTP API lives: the server routes these, agents call them."""

REGISTER_PATH = "/api/client-registry/register"
CA_PATH = "/api/client-registry/ca"
CRL_PATH = "/api/client-registry/crl"
RENEW_PATH = "/api/client-registry/renew"
WHOAMI_PATH = "/api/auth/whoami"
OPENAPI_PATH = "/api/openapi.json"
