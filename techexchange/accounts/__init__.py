"""Users, organisations, memberships, transfer centres, platform roles and API tokens."""
