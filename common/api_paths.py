"""Where the registry's HTTP API lives: the server routes these, agents call them."""

REGISTER_PATH = "/api/client-registry/register"
CA_PATH = "/api/client-registry/ca"
CRL_PATH = "/api/client-registry/crl"
RENEW_PATH = "/api/client-registry/renew"
WHOAMI_PATH = "/api/auth/whoami"
OPENAPI_PATH = "/api/openapi.json"

# EST (RFC 7030 3.2.2): fixed paths under /.well-known/est/, no CA label.
EST_PREFIX = "/.well-known/est"
EST_CACERTS_PATH = f"{EST_PREFIX}/cacerts"
EST_SIMPLEENROLL_PATH = f"{EST_PREFIX}/simpleenroll"
EST_SIMPLEREENROLL_PATH = f"{EST_PREFIX}/simplereenroll"
EST_CSRATTRS_PATH = f"{EST_PREFIX}/csrattrs"
EST_SCRIPT_PATH = "/api/client-registry/est-enroll.sh"
