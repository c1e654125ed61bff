"""The sections of the organization file, one module each, and the values they share;
the whole file (``OrgConfig``) and an LOB (``LobConfig``) are ``blueprint.model.config``."""
